#!/usr/bin/env python3
"""Writes the data of examples/react_agent: a corpus of short articles about an invented world (so a real model
cannot answer from memory and has to search), 32 two-hop questions with gold answers, and the dspy-mock-lm rules
that make the mock play a careful agent on them.

    python3 examples/data/make_react_agent_data.py      # rewrites the three files beside this script

The mock's rules read the trajectory the way an agent would: the second hop is chosen only once the first hop's
observation holds the fact that leads to it, and the agent finishes only once the second observation holds the
answer. So a search that misses the right article leaves the agent without an answer, as it would a real model.
Search results show an article's first sentence; `lookup` gives the whole article (facts in later sentences are
found only by looking the article up)."""
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent

COUNTRIES = {
    # name: (capital, description)
    "Veldoria": ("Amberhaven", "Veldoria is a highland kingdom of terraced valleys and copper mines. Its capital is "
                               "Amberhaven, and its currency is the veld crown."),
    "Sarnland": ("Port Ilsen", "Sarnland is a seafaring republic on the western gulf. Its capital is Port Ilsen, a "
                               "harbour city rebuilt after the great storm of 1807."),
    "Kestria": ("Dunmere", "Kestria is a lake country of forests and printing towns. Its capital is Dunmere, seat of "
                           "the Kestrian parliament since 1712."),
    "Oravia": ("Halvik", "Oravia is a cold northern duchy known for its fisheries. Its capital is Halvik, which sits "
                         "on a fjord that freezes every winter."),
    "Marenza": ("Cobrin", "Marenza is a sunny southern principality of vineyards and marble. Its capital is Cobrin, "
                          "famous for its covered markets."),
    "Glaudon": ("Fenwick Cross", "Glaudon is a small inland state of clockmakers and canals. Its capital is Fenwick "
                                 "Cross, where the five canals meet."),
}

TOWNS = {
    # name: (country, river, first sentence)
    "Korvath": ("Veldoria", "River Selwyn", "Korvath is a market town famous for its copper bells."),
    "Thistlemoor": ("Veldoria", "River Auden", "Thistlemoor is a hill town that hosts the oldest wool fair in the "
                                              "region."),
    "Brannock": ("Sarnland", "River Moyle", "Brannock is a shipbuilding town with six working dry docks."),
    "Elsgrave": ("Sarnland", "River Tarrow", "Elsgrave is a village of salt pans and reed beds."),
    "Wenlow": ("Kestria", "River Isca", "Wenlow is a town of glassworks whose green bottles are sold abroad."),
    "Quillan": ("Kestria", "River Dorne", "Quillan is a university town with eleven printing presses."),
    "Marrowby": ("Oravia", "River Helle", "Marrowby is a fishing port guarded by a striped lighthouse."),
    "Ostervik": ("Oravia", "River Lune", "Ostervik is a harbour town known for its herring smokehouses."),
    "Calder Pike": ("Marenza", "River Vesna", "Calder Pike is a hill village surrounded by olive groves."),
    "Lanzetta": ("Marenza", "River Orba", "Lanzetta is a quarry town that supplies white marble to sculptors."),
    "Pellow": ("Glaudon", "River Fenn", "Pellow is a town of clockmakers with a famous astronomical clock."),
    "Tolland": ("Glaudon", "River Wyre", "Tolland is a cathedral town built of blue limestone."),
}
TOWN_REST = {
    "Korvath": "It lies in the east of Veldoria. The River Selwyn flows through Korvath on its way to the sea.",
    "Thistlemoor": "It lies in the west of Veldoria. The River Auden flows through Thistlemoor in a deep gorge.",
    "Brannock": "It lies on the coast of Sarnland. The River Moyle flows through Brannock into the harbour.",
    "Elsgrave": "It lies in the south of Sarnland. The River Tarrow flows through Elsgrave in slow loops.",
    "Wenlow": "It lies in the north of Kestria. The River Isca flows through Wenlow and turns its mill wheels.",
    "Quillan": "It lies in the centre of Kestria. The River Dorne flows through Quillan under nine stone bridges.",
    "Marrowby": "It lies on the coast of Oravia. The River Helle flows through Marrowby before reaching the sea.",
    "Ostervik": "It lies in the far north of Oravia. The River Lune flows through Ostervik beneath the ice.",
    "Calder Pike": "It lies in the hills of Marenza. The River Vesna flows through Calder Pike in a narrow valley.",
    "Lanzetta": "It lies in the west of Marenza. The River Orba flows through Lanzetta, white with marble dust.",
    "Pellow": "It lies in the middle of Glaudon. The River Fenn flows through Pellow and feeds its canals.",
    "Tolland": "It lies in the south of Glaudon. The River Wyre flows through Tolland past the cathedral.",
}

UNIVERSITIES = {
    "University of Amberhaven": "The University of Amberhaven is the oldest university in Veldoria, founded in 1402. "
                                "It is known for its school of surveying and its observatory.",
    "Brannock Institute of Navigation": "The Brannock Institute of Navigation trains ship officers and "
                                        "hydrographers. Its library holds four thousand sea charts.",
    "Quillan College of Letters": "Quillan College of Letters teaches printing, typography and literature. Its "
                                  "students publish a weekly newspaper.",
    "Royal Academy of Cobrin": "The Royal Academy of Cobrin teaches sculpture, painting and architecture. Its "
                               "courtyard holds a hundred marble statues.",
}

# People: name -> (first sentence, rest). Facts used as a first hop sit in the first sentence.
PEOPLE = {
    "Elena Marsh": ("Elena Marsh was a cartographer born in Korvath in 1931 and a student of Tomas Brell.",
                    "She drew the first complete survey maps of the eastern valleys."),
    "Jonas Ferrow": ("Jonas Ferrow was a composer born in Thistlemoor in 1888 and a student of Mira Quell.",
                     "His best known work is a cycle of songs about shepherds."),
    "Anika Stroud": ("Anika Stroud was a naval engineer born in Brannock in 1902 and a student of Oskar Venn.",
                     "She designed the first steel lifeboats used on the western gulf."),
    "Pieter Lasko": ("Pieter Lasko was a botanist born in Elsgrave in 1870 and a student of Ilse Marrin.",
                     "He catalogued more than three hundred species of salt marsh plants."),
    "Sofia Renn": ("Sofia Renn was a glass artist born in Wenlow in 1915 and a student of Cato Dravin.",
                   "Her stained glass windows decorate the parliament in Dunmere."),
    "Hugo Amsel": ("Hugo Amsel was a printer born in Quillan in 1860.",
                   "In 1894 he founded Amsel and Sons, a type foundry. He cut the typeface still used by Kestrian "
                   "newspapers."),
    "Greta Voss": ("Greta Voss was a ship owner born in Marrowby in 1879.",
                   "In 1911 she founded the Northstar Line, a ferry company. She ran it for forty years."),
    "Matthias Oyen": ("Matthias Oyen was an inventor born in Ostervik in 1899.",
                      "In 1931 he founded Oyen Instruments, a maker of barometers. He held sixty patents."),
    "Lucia Benedetti": ("Lucia Benedetti was a sculptor born in Calder Pike in 1897.",
                        "Her bronze horses stand in front of the Cobrin opera house."),
    "Rafael Santoro": ("Rafael Santoro was an architect born in Lanzetta in 1884.",
                       "He designed the covered markets of Cobrin."),
    "Clara Hesse": ("Clara Hesse was a clockmaker born in Pellow in 1851.",
                    "In 1880 she founded Hesse Clockworks, maker of tower clocks."),
    "Edmund Carrow": ("Edmund Carrow was a historian born in Tolland in 1863.",
                      "He wrote a twelve-volume history of the canals of Glaudon."),
    # The mentors; their universities are in the first sentence.
    "Tomas Brell": ("Tomas Brell was a geographer who studied at the University of Amberhaven.",
                    "He taught map making to a generation of surveyors."),
    "Mira Quell": ("Mira Quell was a pianist who studied at the Quillan College of Letters.",
                   "She later taught harmony and counterpoint in her own school."),
    "Oskar Venn": ("Oskar Venn was an engineer who studied at the Brannock Institute of Navigation.",
                   "He designed the harbour cranes of Port Ilsen."),
    "Ilse Marrin": ("Ilse Marrin was a naturalist who studied at the University of Amberhaven.",
                    "She led three expeditions to the southern salt marshes."),
    "Cato Dravin": ("Cato Dravin was a painter who studied at the Royal Academy of Cobrin.",
                    "His portraits hang in the palace of Halvik."),
    # Founders of the companies behind the products.
    "Wilhelmina Tarr": ("Wilhelmina Tarr was an industrialist born in Amberhaven in 1868.",
                        "She was the first woman elected to the Veldorian chamber of commerce."),
    "Bastian Krohl": ("Bastian Krohl was a locksmith born in Port Ilsen in 1872.",
                      "He was known for refusing to patent his designs."),
    "Nadia Orsolya": ("Nadia Orsolya was a chemist born in Dunmere in 1890.",
                      "She discovered a cheap way to make clear varnish."),
    "Felix Brandt": ("Felix Brandt was a radio pioneer born in Halvik in 1895.",
                     "He broadcast the first weather report in Oravia."),
}

# Companies: name -> (first sentence, rest). The founder sits in the first sentence, the headquarters later.
COMPANIES = {
    "Tarr Foundry": ("Tarr Foundry is an ironworks founded by Wilhelmina Tarr in 1891.",
                     "Its headquarters are in Korvath, beside the old copper mine."),
    "Krohl Locks": ("Krohl Locks is a lock maker founded by Bastian Krohl in 1899.",
                    "Its headquarters are in Brannock, near the dry docks."),
    "Orsolya Paints": ("Orsolya Paints is a paint company founded by Nadia Orsolya in 1921.",
                       "Its headquarters are in Wenlow, in a former glassworks."),
    "Brandt Radio": ("Brandt Radio is a radio maker founded by Felix Brandt in 1926.",
                     "Its headquarters are in Ostervik, on the harbour front."),
    "Amsel and Sons": ("Amsel and Sons is a type foundry in Kestria.",
                       "Its headquarters are in Quillan, in the street of printers."),
    "Northstar Line": ("The Northstar Line is a ferry company that sails between the northern ports.",
                       "Its headquarters are in Marrowby, next to the lighthouse."),
    "Oyen Instruments": ("Oyen Instruments is a maker of barometers founded by Matthias Oyen in 1931.",
                         "Its headquarters are in Ostervik, above the fish market."),
    "Hesse Clockworks": ("Hesse Clockworks is a maker of tower clocks founded by Clara Hesse in 1880.",
                         "Its headquarters are in Pellow, opposite the town hall."),
}

PRODUCTS = {
    "Ironbark stove": ("The Ironbark stove is a cast iron kitchen stove made by Tarr Foundry.",
                       "It burns wood or coal and weighs ninety kilograms."),
    "Gullwing padlock": ("The Gullwing padlock is a brass padlock made by Krohl Locks.",
                         "Harbour masters used it to secure cargo sheds."),
    "Tidewater varnish": ("Tidewater varnish is a clear boat varnish made by Orsolya Paints.",
                          "It dries in four hours and resists salt water."),
    "Aurora receiver": ("The Aurora receiver is a valve radio made by Brandt Radio.",
                        "It was the first radio sold with a lighted dial."),
    "Stormglass barometer": ("The Stormglass barometer is a brass barometer made by Oyen Instruments.",
                             "Its needle points to five kinds of weather."),
    "Meridian station clock": ("The Meridian station clock is a railway clock made by Hesse Clockworks.",
                               "Every station in Glaudon has one."),
}

LANDMARKS = {
    "Lake Morrow": ("Lake Morrow is a deep glacial lake in Kestria.", "Its water is so clear that the bottom can "
                    "be seen at twenty metres."),
    "Mount Carrick": ("Mount Carrick is the highest peak of Veldoria.", "Climbers first reached its summit in 1851."),
    "the Grey Fjord": ("The Grey Fjord is a narrow inlet on the coast of Oravia.", "Seals breed on its rocky "
                       "islands every spring."),
    "the Amber Falls": ("The Amber Falls are a waterfall in Marenza.", "The water is stained gold by iron in the "
                        "rocks above."),
    "the Five Locks": ("The Five Locks are a staircase of canal locks in Glaudon.", "Barges take an hour to climb "
                       "them."),
}
LANDMARK_TITLES = {"Lake Morrow": "Lake Morrow", "Mount Carrick": "Mount Carrick", "the Grey Fjord": "Grey Fjord",
                   "the Amber Falls": "Amber Falls", "the Five Locks": "Five Locks"}
LANDMARK_COUNTRY = {"Lake Morrow": "Kestria", "Mount Carrick": "Veldoria", "the Grey Fjord": "Oravia",
                    "the Amber Falls": "Marenza", "the Five Locks": "Glaudon"}

# Near namesakes and unrelated articles, so search has something to rank below the right answer.
DISTRACTORS = [
    ("Elena March", "Elena March was a stage actress born in Tolland in 1940. She played in more than ninety "
                    "comedies."),
    ("Tomas Brill", "Tomas Brill was a baker from Halvik who invented a rye biscuit. His shop is now a museum."),
    ("Korvath Bell Fair", "The Korvath Bell Fair is held every spring in the town square. Bell founders from all "
                          "over Veldoria compete there."),
    ("River Selwyn", "The River Selwyn rises on the slopes of Mount Carrick. Trout fishing on it is licensed."),
    ("Hugo Amsel the Younger", "Hugo Amsel the Younger was a chess player and grandson of the printer. He won the "
                               "Kestrian championship twice."),
    ("Greta Voss Bridge", "The Greta Voss Bridge is a footbridge in Halvik named after a ship owner. It opened in "
                          "1960."),
    ("Clara Hesse Prize", "The Clara Hesse Prize is awarded each year to a young clockmaker. The winner receives a "
                          "silver escapement."),
    ("Aurora festival", "The Aurora festival celebrates the northern lights in Ostervik. Lanterns are floated on "
                        "the harbour."),
    ("Ironbark tree", "The ironbark tree grows in the dry hills of Marenza. Its wood is too hard for most saws."),
    ("Morrow cheese", "Morrow cheese is a soft cheese made near Lake Morrow. It is washed in cider."),
    ("Carrick Pass", "The Carrick Pass is a mountain road in Veldoria that closes every winter. Snowploughs clear "
                     "it in April."),
    ("Fjord ferries", "Ferries cross the fjords of Oravia every hour in summer. In winter icebreakers keep the "
                      "lanes open."),
    ("Port Ilsen storm", "The great storm of 1807 destroyed most of the harbour of Port Ilsen. The city was rebuilt "
                         "in stone."),
    ("Veldorian copper", "Veldorian copper was mined since Roman times. Bells, pots and coins were made from it."),
    ("Glaudon canals", "The canals of Glaudon were dug between 1700 and 1790. They connect every town of the "
                       "state."),
    ("Dunmere parliament", "The Kestrian parliament meets in Dunmere in a hall with stained glass windows."),
    ("Cobrin opera house", "The Cobrin opera house opened in 1911. Bronze horses stand in front of it."),
    ("Quillan typeface", "The Quillan typeface is a serif type for newspapers. Several foundries copied it."),
]


def article(title, first, rest=""):
    return {"title": title, "text": (first + " " + rest).strip()}


def build():
    docs = []
    for name, (capital, text) in COUNTRIES.items():
        docs.append(article(name, text))
    for name, (_country, _river, first) in TOWNS.items():
        docs.append(article(name, first, TOWN_REST[name]))
    for name, text in UNIVERSITIES.items():
        docs.append(article(name, text))
    for table in (PEOPLE, COMPANIES, PRODUCTS):
        for name, (first, rest) in table.items():
            docs.append(article(name, first, rest))
    for name, (first, rest) in LANDMARKS.items():
        docs.append(article(LANDMARK_TITLES[name], first, rest))
    for title, text in DISTRACTORS:
        docs.append(article(title, text))
    for i, d in enumerate(docs):
        d["id"] = f"d{i + 1:03d}"
    docs = [{"id": d["id"], "title": d["title"], "text": d["text"]} for d in docs]
    titles = [d["title"] for d in docs]
    assert len(set(titles)) == len(titles), "duplicate titles"

    # Each plan: question, answer, two hops. A hop is (thought, tool, args, fact): `fact` is the text the hop's
    # observation must hold for the agent to move on.
    plans = []
    people = list(PEOPLE)
    for person in people[:8]:  # Which river flows through the birthplace of X?
        town = PEOPLE[person][0].split(" born in ")[1].split(" in ")[0]
        river = TOWNS[town][1]
        plans.append((f"Which river flows through the birthplace of {person}?", river,
                      (f"I need to find where {person} was born.", "search", {"query": f"{person} born", "k": 3},
                       f"born in {town}"),
                      (f"{person} was born in {town}. I will look up {town} to find its river.", "lookup",
                       {"title": town}, f"The {river} flows through {town}")))
    for person in people[8:12]:  # In which country was X born?
        town = PEOPLE[person][0].split(" born in ")[1].split(" in ")[0]
        country = TOWNS[town][0]
        plans.append((f"In which country was {person} born?", country,
                      (f"I need to find where {person} was born.", "search", {"query": f"{person} born", "k": 3},
                       f"born in {town}"),
                      (f"{person} was born in {town}. I will look up {town} to find its country.", "lookup",
                       {"title": town}, TOWN_REST[town].split(". ")[0])))
    for product, (first, _rest) in PRODUCTS.items():  # Who founded the company that makes P?
        company = first.split(" made by ")[1].rstrip(".")
        founder = COMPANIES[company][0].split(" founded by ")[1].split(" in ")[0]
        plans.append((f"Who founded the company that makes the {product}?", founder,
                      (f"I need to find which company makes the {product}.", "search",
                       {"query": f"{product} made by", "k": 3}, f"made by {company}"),
                      (f"The {product} is made by {company}. Now I need the founder of {company}.", "search",
                       {"query": f"{company} founded by", "k": 3}, f"founded by {founder}")))
    for landmark, (first, _rest) in LANDMARKS.items():  # What is the capital of the country where L is?
        country = LANDMARK_COUNTRY[landmark]
        capital = COUNTRIES[country][0]
        plans.append((f"What is the capital of the country where {landmark} is?", capital,
                      (f"I need to find which country {landmark} is in.", "search",
                       {"query": LANDMARK_TITLES[landmark], "k": 3}, first.rstrip(".")),
                      (f"{landmark[0].upper() + landmark[1:]} is in {country}. I will look up {country} for its "
                       f"capital.", "lookup", {"title": country}, f"Its capital is {capital}")))
    for person in people[:5]:  # Which university did the teacher of X attend?
        mentor = PEOPLE[person][0].split(" a student of ")[1].rstrip(".")
        university = PEOPLE[mentor][0].split(" studied at ")[1].rstrip(".")
        university = university[4:] if university.startswith("the ") else university
        plans.append((f"Which university did the teacher of {person} attend?", university,
                      (f"I need to find who taught {person}.", "search", {"query": f"{person} student of", "k": 3},
                       f"a student of {mentor}"),
                      (f"{person} was a student of {mentor}. Now I need where {mentor} studied.", "search",
                       {"query": f"{mentor} studied at", "k": 3}, f"studied at the {university}")))
    for person in ("Hugo Amsel", "Greta Voss", "Matthias Oyen", "Clara Hesse"):  # HQ of the company X founded
        company = PEOPLE[person][1].split(" founded ")[1].split(",")[0]
        company_title = company[4:] if company.startswith("the ") else company
        company_title = company_title[0].upper() + company_title[1:]
        town = COMPANIES[company_title][1].split(" are in ")[1].split(",")[0]
        plans.append((f"In which town is the company founded by {person} based?", town,
                      (f"I need to find which company {person} founded.", "lookup", {"title": person},
                       f"founded {company}"),
                      (f"{person} founded {company_title}. I will look it up to find its headquarters.", "lookup",
                       {"title": company_title}, f"Its headquarters are in {town}")))
    assert len(plans) == 32, len(plans)

    questions = [{"id": f"q{i + 1:02d}", "question": q, "answer": a} for i, (q, a, _h1, _h2) in enumerate(plans)]

    # Rules, most advanced state first: the first matching rule wins and a later step's prompt holds everything
    # an earlier step's did. The finishing rule also gives the extract step (ChainOfThought) its answer.
    finish, second, first = [], [], []
    for q, a, h1, h2 in plans:
        finish.append({"match": [q, h2[3]],
                       "fields": {"next_thought": f"The observation says the answer is {a}.",
                                  "next_tool_name": "finish", "next_tool_args": {},
                                  "reasoning": f"{h1[3]}; {h2[3]}. So the answer is {a}.", "answer": a}})
        second.append({"match": [q, h1[3]],
                       "fields": {"next_thought": h2[0], "next_tool_name": h2[1], "next_tool_args": h2[2]}})
        first.append({"match": [q], "fields": {"next_thought": h1[0], "next_tool_name": h1[1],
                                                "next_tool_args": h1[2]}})
    rules = finish + second + first

    # The facts the rules look for must be in the articles the hops reach (first sentence for search).
    by_title = {d["title"]: d for d in docs}
    for q, a, h1, h2 in plans:
        for hop in (h1, h2):
            if hop[1] == "lookup":
                assert hop[3] in by_title[hop[2]["title"]]["text"], (q, hop)
            else:
                assert any(hop[3] in d["text"].split(". ")[0] for d in docs), (q, hop)
        assert a in by_title[h2[2]["title"]]["text"] if h2[1] == "lookup" else True, (q, a)

    with open(HERE / "react_agent_corpus.jsonl", "w") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    with open(HERE / "react_agent_questions.jsonl", "w") as f:
        for q in questions:
            f.write(json.dumps(q) + "\n")
    with open(HERE / "react_agent_rules.json", "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r) for r in rules) + "\n]\n")
    print(f"{len(docs)} articles, {len(questions)} questions, {len(rules)} rules")


if __name__ == "__main__":
    build()

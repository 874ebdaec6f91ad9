# Runs the ReAct agent example against the mock and checks its report: every answer correct, every question
# answered in two or more hops, and the concurrent, sequential and speed-up lines present.
# Usage: cmake -DEXE=... -DQUESTIONS=N [-DARGS=a;b;...] -P check_output.cmake
execute_process(COMMAND ${EXE} ${ARGS} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
set(report "--- stdout ---\n${out}--- stderr ---\n${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}\n${report}")
endif()
set(expect
    "\ncorrect: ${QUESTIONS}/${QUESTIONS}; multi-hop \\(two or more different tool calls\\): ${QUESTIONS}/${QUESTIONS}\n"
    "\nconcurrent: ${QUESTIONS} questions, [0-9]+ in flight \\(acall \\+ CapacityLimiter\\): [0-9.]+ s\n"
    "\nsequential: [^\n]*one at a time \\(acall\\): [0-9.]+ s \\([0-9]+/[0-9]+ correct\\)"
    "\nspeed-up: [0-9.]+x\n")
foreach(re IN LISTS expect)
  if(NOT out MATCHES "${re}")
    message(FATAL_ERROR "${EXE}: no line matching '${re}'\n${report}")
  endif()
endforeach()
string(REGEX MATCH "one at a time \\(acall\\): [0-9.]+ s \\(([0-9]+)/([0-9]+) correct" seq "${out}")
if(NOT CMAKE_MATCH_1 STREQUAL CMAKE_MATCH_2)
  message(FATAL_ERROR "${EXE}: a question of the sequential run failed\n${report}")
endif()
if(out MATCHES "WRONG|error: ")
  message(FATAL_ERROR "${EXE}: a question failed\n${report}")
endif()

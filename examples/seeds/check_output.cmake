# Runs one seed example (offline: the test unsets OPENAI_API_KEY) and compares its whole standard output with
# the expected file. Usage: cmake -DEXE=... -DEXPECTED=... -P check_output.cmake
execute_process(COMMAND ${EXE} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}\n--- stdout ---\n${out}--- stderr ---\n${err}")
endif()
file(READ ${EXPECTED} want)
if(NOT out STREQUAL want)
  message(FATAL_ERROR "${EXE}: output differs\n--- expected ---\n${want}--- got ---\n${out}--- stderr ---\n${err}")
endif()

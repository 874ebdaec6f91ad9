# Warnings for our own targets only (never forced onto a consumer of the installed package).
function(dspy_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(DSPY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# The executables that serve load (the dspy command, dspy-bench, dspy-mock-lm) link tcmalloc_minimal when it is
# there (Debian: libtcmalloc-minimal4). An LM call makes a few hundred small, short-lived allocations (Json
# nodes, strings, coroutine frames) across two threads; glibc's malloc spends about a fifth of the client's CPU on
# them, tcmalloc about half that (README, Performance). The library itself never chooses the allocator: that is
# the application's call, and these are our applications.
option(DSPY_TCMALLOC "Link the dspy command, dspy-bench and dspy-mock-lm with tcmalloc_minimal if found" ON)

set(DSPY_TCMALLOC_LIBRARY "")
# A sanitizer brings its own allocator; tcmalloc would hide the errors it is there to find.
if(DSPY_TCMALLOC AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  find_library(DSPY_TCMALLOC_PATH NAMES tcmalloc_minimal libtcmalloc_minimal.so.4)
  if(DSPY_TCMALLOC_PATH)
    set(DSPY_TCMALLOC_LIBRARY "${DSPY_TCMALLOC_PATH}")
    message(STATUS "dspy: executables use tcmalloc_minimal (${DSPY_TCMALLOC_PATH})")
  else()
    message(STATUS "dspy: tcmalloc_minimal not found (Debian: libtcmalloc-minimal4); executables use glibc malloc")
  endif()
endif()

# Links `target` with the fast allocator. No symbol of it is referenced, so --as-needed must not drop it.
function(dspy_fast_malloc target)
  if(DSPY_TCMALLOC_LIBRARY)
    target_link_libraries(${target} PRIVATE "-Wl,--push-state,--no-as-needed" "${DSPY_TCMALLOC_LIBRARY}"
                                            "-Wl,--pop-state")
  endif()
endfunction()

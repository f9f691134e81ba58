"""The shapes every package's BUILD repeats, written once: a unit
(<name>.c with its <name>.h) as a library, a test or a test-only library,
a program <name>.c, and a service package."""

def hs_test(name, deps = [], srcs = None, size = "small", **kwargs):
    """A C test <name>.c on the one assertion header (//testing:check)."""
    native.cc_test(
        name = name,
        size = size,
        srcs = srcs or [name + ".c"],
        deps = deps + ["//testing:check"],
        **kwargs
    )

def hs_service(name, lib, exclude = [], deps = []):
    """A service package: the library `lib` holds every .c and .h of the
    folder but main (<name>.c), the tests and what `exclude` names (parts
    with targets of their own); the daemon `name` is <name>.c on it."""
    native.cc_library(
        name = lib,
        srcs = native.glob(
            ["*.c"],
            exclude = ["*_test.c", name + ".c"] + exclude,
        ),
        hdrs = native.glob(["*.h"], exclude = exclude),
        deps = deps + [
            "//proto:rpc",
            "//runtime",
            "//third_party/sys:crypto",
            "//third_party/sys:hiredis",
        ],
    )
    native.cc_binary(
        name = name,
        srcs = [name + ".c"],
        deps = [":" + lib],
    )

def hs_tests(names, deps, **kwargs):
    """Several hs_tests over the same deps, one per name."""
    for name in names:
        hs_test(name = name, deps = deps, **kwargs)

def hs_process_tests(names, data, deps, size = "medium"):
    """Tests that start real processes (the binaries in data) on free
    loopback ports through the harness in //testing. They run one at a
    time: their timeouts are for the system under test, not for cores
    shared with another such test."""
    hs_tests(
        names,
        deps = deps + [
            "//testing:harness",
            "//testing:rpc",
        ],
        data = data,
        size = size,
        tags = ["exclusive"],
    )

def hs_lib(name, deps = [], **kwargs):
    """A library of one unit: <name>.c and its header <name>.h."""
    native.cc_library(
        name = name,
        srcs = [name + ".c"],
        hdrs = [name + ".h"],
        deps = deps,
        **kwargs
    )

def hs_test_lib(name, deps = [], data = []):
    """A unit for tests only (a piece of the test harness, a package's test
    helpers): <name>.c and <name>.h, its folder on the includer's path."""
    hs_lib(
        name = name,
        testonly = True,
        data = data,
        includes = ["."],
        deps = deps,
    )

def hs_binary(name, deps, **kwargs):
    """A program of one file, <name>.c (a tool, a benchmark, an example)."""
    native.cc_binary(
        name = name,
        srcs = [name + ".c"],
        deps = deps,
        **kwargs
    )

def hs_core(name, units, deps = [], **kwargs):
    """A service's pure core: units (<unit>.c and <unit>.h each, no I/O)
    in one library, each unit-tested on its own by <unit>_test.c. The
    service around it leaves them out: hs_service(exclude = [u + ".*" ...])."""
    native.cc_library(
        name = name,
        srcs = [u + ".c" for u in units],
        hdrs = [u + ".h" for u in units],
        deps = deps,
        **kwargs
    )
    hs_tests([u + "_test" for u in units], deps = [":" + name])

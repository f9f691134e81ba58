"""The two shapes every package's BUILD repeats, written once."""

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

def hs_test_lib(name, deps = [], data = []):
    """A piece of the test harness: <name>.c and <name>.h, for tests only."""
    native.cc_library(
        name = name,
        testonly = True,
        srcs = [name + ".c"],
        hdrs = [name + ".h"],
        data = data,
        includes = ["."],
        deps = deps,
    )

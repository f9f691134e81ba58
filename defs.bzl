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

def hs_service(name, lib, srcs, hdrs, deps = []):
    """A service: the library `lib` holding all of it but main(), which its
    tests link too, and the daemon `name` built from <name>.c."""
    native.cc_library(
        name = lib,
        srcs = srcs,
        hdrs = hdrs,
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

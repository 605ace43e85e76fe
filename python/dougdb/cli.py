"""The ``dougdb`` command line: ``up``, ``node``, ``facade``, client calls, ``status``,
``bench`` and ``plugin new|build|test``.

Exit status: 0 on success, 1 when DougDB reports an error (printed as ``error: <message>``,
never a traceback), 2 on bad usage, 3 when ``get`` finds no value for the key, 130 on Ctrl-C
during a client call.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from ._cli_fmt import decode_arg, format_bytes, render_status

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ABSENT = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad command line that argparse itself could not catch."""


def _endpoints_arg(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--endpoints",
        "-e",
        default=os.environ.get("DOUGDB_ENDPOINTS"),
        help="comma-separated node (or facade) addresses, e.g. 127.0.0.1:7101,127.0.0.1:7102 "
        "(default: $DOUGDB_ENDPOINTS)",
    )
    p.add_argument("--timeout", type=float, default=5.0, help="deadline of each call, seconds")


def _client_args(p: argparse.ArgumentParser) -> None:
    _endpoints_arg(p)
    p.add_argument("--hex", action="store_true", help="keys and values given and printed as hex")
    p.add_argument(
        "--format",
        choices=("auto", "hex", "repr"),
        default="auto",
        help="how keys and values are printed: auto = UTF-8 text when printable, else the "
        "Python repr of the bytes (b'\\x00...'); hex; repr (default: auto)",
    )


def _consistency_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--consistency",
        choices=("strong", "eventual"),
        default="strong",
        help="strong: linearizable through the leader; eventual: any replica, may be stale",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole ``dougdb`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="dougdb",
        description="DougDB: a Raft-replicated, sharded key-value store you run from Python.",
        epilog="Exit status: 0 ok, 1 DougDB error, 2 usage, 3 get found no value.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    up = sub.add_parser("up", help="run a local cluster in the foreground (Ctrl-C stops it)")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--shards", type=int, default=1)
    up.add_argument("--data-dir", help="keep the data here (default: a temp dir, removed)")
    up.add_argument("--routing", help="routing plugin: a .wasm path or hash / range")
    up.add_argument("--compaction", help="compaction plugin: a .wasm path or leveled / tiered")
    up.add_argument("--facade", action="store_true", help="also start the routing facade")
    up.add_argument("--interval", type=float, default=1.0, help="status refresh, seconds")
    up.add_argument(
        "--for",
        dest="run_for",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop by itself after this long (default: until Ctrl-C or SIGTERM)",
    )

    node = sub.add_parser(
        "node", help="run one node (what up and LocalCluster run)", add_help=False
    )
    node.add_argument("rest", nargs=argparse.REMAINDER)
    facade = sub.add_parser("facade", help="run the routing facade", add_help=False)
    facade.add_argument("rest", nargs=argparse.REMAINDER)

    put = sub.add_parser("put", help="write a value")
    put.add_argument("key")
    put.add_argument("value", nargs="?", help="the value (omit with --stdin)")
    put.add_argument("--stdin", action="store_true", help="read the value's bytes from stdin")
    _client_args(put)

    get = sub.add_parser("get", help="read a value (exit 3 when absent)")
    get.add_argument("key")
    _client_args(get)
    _consistency_arg(get)

    delete = sub.add_parser("delete", help="delete a key; prints deleted or absent")
    delete.add_argument("key")
    _client_args(delete)

    scan = sub.add_parser("scan", help="keys and values in [start, end), in key order")
    scan.add_argument("start", nargs="?", default="", help="first key (inclusive)")
    scan.add_argument("end", nargs="?", default=None, help="end key (exclusive; default: none)")
    scan.add_argument("--limit", type=int, default=None)
    scan.add_argument("--keys-only", action="store_true")
    _client_args(scan)
    _consistency_arg(scan)

    status = sub.add_parser("status", help="shards, replicas, roles, terms, indexes")
    _endpoints_arg(status)
    status.add_argument("--json", action="store_true", help="print ClusterStatus.to_dict()")

    bench = sub.add_parser("bench", help="closed-loop load with latency percentiles")
    _endpoints_arg(bench)
    bench.add_argument("--op", choices=("put", "get", "get-eventual"), default="put")
    bench.add_argument("--clients", type=int, default=64, help="concurrent callers (threads)")
    bench.add_argument("--seconds", type=float, default=10.0)
    bench.add_argument("--value-size", type=int, default=256, help="bytes per value")
    bench.add_argument("--keys", type=int, default=10_000, help="size of the key space")
    bench.add_argument("--seed", type=int, default=None, help="random seed (printed)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    plugin = sub.add_parser("plugin", help="scaffold, build and try a wasm plugin")
    psub = plugin.add_subparsers(dest="plugin_command", metavar="ACTION")
    psub.required = True
    pnew = psub.add_parser("new", help="create a plugin crate NAME in the current directory")
    pnew.add_argument("name")
    pnew.add_argument("--kind", choices=("router", "compaction"), default="router")
    pnew.add_argument("--dir", default=".", help="parent directory (default: .)")
    pnew.add_argument("--sdk", help="path of plugins/sdk (default: found automatically)")
    pbuild = psub.add_parser("build", help="cargo build --release --target wasm32-unknown-unknown")
    pbuild.add_argument("dir")
    pbuild.add_argument("--quiet", action="store_true")
    pbuild.add_argument("--offline", action="store_true", help="cargo --offline (no network)")
    pbuild.add_argument("--target-dir", help="cargo's target dir (default: DIR/target)")
    ptest = psub.add_parser("test", help="load a .wasm (or a crate dir) and route keys")
    ptest.add_argument("file")
    ptest.add_argument("--keys", default="a,b,c,user:42", help="comma-separated keys")
    ptest.add_argument("--shards", type=int, default=4, help="shard count to route over")
    ptest.add_argument("--config", help="the plugin's configuration blob, as hex")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``dougdb`` command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in ("node", "facade"):
        return _run_server(args_list)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    import dougdb  # noqa: PLC0415 (keeps `dougdb --help` independent of the native module)

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "up": _cmd_up,
        "put": _cmd_put,
        "get": _cmd_get,
        "delete": _cmd_delete,
        "scan": _cmd_scan,
        "status": _cmd_status,
        "bench": _cmd_bench,
        "plugin": _cmd_plugin,
    }
    try:
        return handlers[args.command](args)
    except UsageError as e:
        parser.print_usage(sys.stderr)
        print(f"dougdb {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except dougdb.DougDBError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `dougdb scan | head`
        return EXIT_OK


def _run_server(argv: list[str]) -> int:
    """``dougdb node|facade ...``: the native server's own command line, as ``python -m
    dougdb node|facade`` runs it (same orphan guard, then the native entry)."""
    from . import _native  # noqa: PLC0415
    from ._process import guard_child  # noqa: PLC0415

    guard_child()
    return int(_native.run_server(["dougdb", *argv]))


def _endpoints(args: argparse.Namespace) -> str:
    if not args.endpoints:
        raise UsageError("--endpoints is required (or set DOUGDB_ENDPOINTS)")
    return str(args.endpoints)


def _connect(args: argparse.Namespace) -> Any:
    import dougdb  # noqa: PLC0415

    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be > 0")
    return dougdb.connect(_endpoints(args), timeout=args.timeout)


def _bytes_arg(args: argparse.Namespace, text: str) -> bytes:
    try:
        return decode_arg(text, getattr(args, "hex", False))
    except ValueError as e:
        raise UsageError(str(e)) from e


def _fmt(args: argparse.Namespace) -> str:
    return "hex" if args.hex else args.format


def _cmd_put(args: argparse.Namespace) -> int:
    if args.stdin == (args.value is not None):
        raise UsageError("give exactly one of VALUE or --stdin")
    value = sys.stdin.buffer.read() if args.stdin else _bytes_arg(args, args.value)
    _connect(args).put(_bytes_arg(args, args.key), value)
    return EXIT_OK


def _cmd_get(args: argparse.Namespace) -> int:
    value = _connect(args).get(_bytes_arg(args, args.key), consistency=args.consistency)
    if value is None:
        print("(absent)", file=sys.stderr)
        return EXIT_ABSENT
    print(format_bytes(value, _fmt(args)))
    return EXIT_OK


def _cmd_delete(args: argparse.Namespace) -> int:
    existed = _connect(args).delete(_bytes_arg(args, args.key))
    print("deleted" if existed else "absent")
    return EXIT_OK


def _cmd_scan(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must be >= 0")
    end = None if args.end is None else _bytes_arg(args, args.end)
    rows = _connect(args).scan(
        _bytes_arg(args, args.start), end, limit=args.limit, consistency=args.consistency
    )
    fmt = _fmt(args)
    for key, value in rows:
        if args.keys_only:
            print(format_bytes(key, fmt))
        else:
            print(f"{format_bytes(key, fmt)}\t{format_bytes(value, fmt)}")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    from ._cli_status import fetch_status  # noqa: PLC0415

    status = fetch_status(_endpoints(args), args.timeout)
    if args.json:
        import json  # noqa: PLC0415

        print(json.dumps(status.to_dict(), sort_keys=True))
    else:
        print(render_status(status))
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace) -> int:
    import random  # noqa: PLC0415

    import dougdb  # noqa: PLC0415

    from ._bench import BenchConfig, print_result, run_bench  # noqa: PLC0415

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    config = BenchConfig(
        op=args.op,
        clients=args.clients,
        seconds=args.seconds,
        value_size=args.value_size,
        keys=args.keys,
        seed=seed,
    )
    client = _connect(args)
    print(
        f"bench: {config.op}, {config.clients} clients, {config.seconds:g} s, "
        f"{config.value_size} B values, {config.keys} keys, seed {seed}",
        file=sys.stderr,
    )
    try:
        result = run_bench(
            client,
            config,
            progress=None if args.no_progress else sys.stderr,
            error_type=dougdb.DougDBError,
        )
    except ValueError as e:
        raise UsageError(str(e)) from e
    print_result(result, args.json)
    return EXIT_OK if result.ops > 0 else EXIT_ERROR


def _cmd_plugin(args: argparse.Namespace) -> int:
    from . import _cli_plugin as cp  # noqa: PLC0415

    try:
        if args.plugin_command == "new":
            sdk = cp.find_sdk(args.sdk)
            path = cp.new_plugin(args.name, args.kind, Path(args.dir), sdk)
            print(f"created {args.kind} plugin crate {path} (SDK: {sdk})")
            print(f"next: dougdb plugin build {path}")
            return EXIT_OK
        if args.plugin_command == "build":
            target_dir = Path(args.target_dir) if args.target_dir else None
            wasm = cp.build_plugin(
                Path(args.dir), quiet=args.quiet, offline=args.offline, target_dir=target_dir
            )
            print(wasm)
            return EXIT_OK
        return _plugin_test(args, cp)
    except cp.PluginCommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


def _plugin_test(args: argparse.Namespace, cp: Any) -> int:
    from . import plugins  # noqa: PLC0415

    path = Path(args.file)
    if path.is_dir():  # a crate dir: its built module
        name = cp.crate_name(path).replace("-", "_")
        path = path / "target" / cp.WASM_TARGET / "release" / f"{name}.wasm"
    if args.shards < 1:
        raise UsageError("--shards must be >= 1")
    keys = [k.encode("utf-8") for k in args.keys.split(",")] if args.keys else []
    try:
        config = bytes.fromhex(args.config) if args.config else None
    except ValueError as e:
        raise UsageError(f"--config must be hex digits: {e}") from e
    if not path.is_file():
        raise UsageError(f"{path} does not exist (build it with: dougdb plugin build DIR)")
    plugin = plugins.load(str(path), config=config) if config else plugins.load(str(path))
    cp.print_route_table(plugin, keys, args.shards)
    return EXIT_OK


def _cmd_up(args: argparse.Namespace) -> int:
    from ._cli_up import run_up  # noqa: PLC0415

    if args.nodes < 1 or args.shards < 1:
        raise UsageError("--nodes and --shards must be >= 1")
    return run_up(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

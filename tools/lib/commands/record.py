# `tools/scalloc record`: runs a program under libscalloc_record.so (tools/record/) and converts the heap events it
# logged into a fuzzer trace (fuzzers/README.md, "Recording real programs"); `--dump` prints any trace as text.
"""Record a program's heap calls as a fuzzer trace."""

import argparse
import collections
import os
import pathlib
import struct
import subprocess
import sys
import tempfile

from scalloc_tool import REPO_ROOT, ToolError, build, ensure_setup, out_dir

sys.path.insert(0, str(REPO_ROOT / "fuzzers"))
import trace_format as tf  # noqa: E402  (fuzzers/trace_format.py, found through the path entry above)

# tools/record/recorder.cc, struct Event.
_EVENT = struct.Struct("<QIIBBHIQQQQ")
_EVENT_MAGIC = 0x5352
_KIND_NAMES = {
    1: "malloc",
    2: "calloc",
    3: "realloc",
    4: "memalign",
    5: "posix_memalign",
    6: "aligned_alloc",
    7: "valloc",
    8: "pvalloc",
    9: "free",
    10: "free_sized",
    11: "free_aligned_sized",
    12: "usable_size",
}
_ALLOCATIONS = {"malloc", "calloc", "memalign", "posix_memalign", "aligned_alloc", "valloc", "pvalloc"}
_FREES = {"free", "free_sized", "free_aligned_sized"}

Event = collections.namedtuple("Event", "sequence pid tid kind result pointer size extra")


def read_events(path):
    """Parses the recorder's event file; returns the events in call order."""
    data = pathlib.Path(path).read_bytes()
    if len(data) % _EVENT.size:
        print(f"scalloc: warning: {path} ends with a partial record; ignored", file=sys.stderr)
    events = []
    for offset in range(0, len(data) - len(data) % _EVENT.size, _EVENT.size):
        sequence, pid, tid, kind, version, magic, _, result, pointer, size, extra = _EVENT.unpack_from(data, offset)
        if magic != _EVENT_MAGIC or version != 1 or kind not in _KIND_NAMES:
            raise ToolError(f"{path}: record {offset // _EVENT.size} is not a version-1 recorder event")
        events.append(Event(sequence, pid, tid, _KIND_NAMES[kind], result, pointer, size, extra))
    events.sort(key=lambda e: e.sequence)
    return events


class _SlotMap:
    """Maps live addresses to the trace's slots, evicting the least recently used slot when all are taken."""

    def __init__(self):
        self.address_of = [None] * tf.NUM_SLOTS  # None: free in the trace; 0: allocated, address forgotten
        self.slot_of = {}
        self.recent = collections.OrderedDict((slot, None) for slot in range(tf.NUM_SLOTS))
        self.evictions = 0

    def touch(self, slot):
        self.recent.move_to_end(slot)

    def take(self):
        """A slot for a new block: a free one if any, else the least recently used (the op then frees it)."""
        for slot in self.recent:
            if self.address_of[slot] is None:
                return slot
        slot = next(iter(self.recent))
        self.forget(slot)
        self.evictions += 1
        return slot

    def bind(self, slot, address):
        other = self.slot_of.get(address)
        if other is not None and other != slot:
            self.address_of[other] = 0  # the address was reused before its free was seen: keep the block
        self.address_of[slot] = address
        self.slot_of[address] = slot
        self.touch(slot)

    def forget(self, slot):
        address = self.address_of[slot]
        if address:
            self.slot_of.pop(address, None)
        self.address_of[slot] = None


def convert(events, pid=None, max_ops=0, fill=False):
    """Turns the events of one process into trace bytes; returns (bytes, stats dict)."""
    if pid is None:
        counts = collections.Counter(e.pid for e in events)
        pid = counts.most_common(1)[0][0] if counts else 0
    writer = tf.TraceWriter()
    slots = _SlotMap()
    threads = {}
    current_thread = 0
    stats = collections.Counter()

    def thread_index(tid):
        if tid not in threads:
            # The first thread seen is the trace's thread 0; later ones share the three workers in turn.
            threads[tid] = 0 if not threads else 1 + (len(threads) - 1) % (tf.NUM_THREADS - 1)
        return threads[tid]

    def allocate(event, emit):
        slot = slots.take()
        emit(slot)
        slots.bind(slot, event.result)
        if fill:
            writer.fill(slot, 0, 0xFFFF, slot)

    for event in events:
        if event.pid != pid:
            continue
        if max_ops and stats["ops"] >= max_ops:
            stats["truncated"] = 1
            break
        thread = thread_index(event.tid)
        if thread != current_thread:
            writer.switch_thread(thread)
            current_thread = thread
        stats["ops"] += 1
        kind = event.kind
        if kind in _ALLOCATIONS:
            if event.result == 0:
                stats["failed_allocations_skipped"] += 1
                continue
            if kind == "malloc":
                allocate(event, lambda s: writer.malloc(s, event.size))
            elif kind == "calloc":
                allocate(event, lambda s: writer.calloc(s, event.extra, event.size))
            else:
                alignment = event.extra
                size = event.size
                if kind == "pvalloc":
                    size = (size + 4095) // 4096 * 4096
                flavour = kind if kind in ("posix_memalign", "aligned_alloc") else "memalign"
                allocate(event, lambda s: writer.memalign(s, alignment, size, flavour))
        elif kind == "realloc":
            slot = slots.slot_of.get(event.pointer) if event.pointer else None
            if slot is None:
                if event.result == 0:
                    continue
                # realloc(NULL, n), or of a block the trace no longer tracks: a fresh allocation.
                allocate(event, lambda s: writer.malloc(s, event.size))
                stats["untracked_reallocs"] += event.pointer != 0
                continue
            writer.realloc(slot, event.size)
            if event.size == 0:
                slots.forget(slot)
            elif event.result != 0:
                slots.forget(slot)
                slots.bind(slot, event.result)
        elif kind in _FREES:
            slot = slots.slot_of.get(event.pointer)
            if slot is None:
                stats["untracked_frees_skipped"] += 1
                continue
            if kind == "free":
                writer.free(slot)
            else:
                writer.free_sized(slot)
            slots.forget(slot)
        elif kind == "usable_size":
            slot = slots.slot_of.get(event.pointer)
            if slot is not None:
                writer.usable_size(slot)
                slots.touch(slot)
    stats["threads"] = len(threads)
    stats["evictions"] = slots.evictions
    return writer.bytes(), dict(stats, pid=pid)


def _library(args):
    if args.library:
        library = pathlib.Path(args.library).resolve()
    else:
        ensure_setup()
        library = build(args.config, targets=["tools/record:scalloc_record"], quiet=True) / "libscalloc_record.so"
    if not library.exists():
        raise ToolError(f"{library} not found")
    return library


def _command(args):
    if args.dump:
        print(tf.format_trace(pathlib.Path(args.dump).read_bytes()))
        return 0
    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise ToolError("nothing to record: give a command after --, e.g. tools/scalloc record -- ls -l")
    library = _library(args)
    output = pathlib.Path(args.out) if args.out else out_dir("record") / (pathlib.Path(command[0]).name + ".trace")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scalloc-record-") as scratch:
        events_path = pathlib.Path(args.events) if args.events else pathlib.Path(scratch) / "events.bin"
        if events_path.exists():
            events_path.unlink()
        env = dict(os.environ)
        env["SCALLOC_RECORD_FILE"] = str(events_path)
        env["LD_PRELOAD"] = f"{library}:{env['LD_PRELOAD']}" if env.get("LD_PRELOAD") else str(library)
        try:
            proc = subprocess.Popen(command, env=env)
        except OSError as error:
            raise ToolError(f"cannot run {command[0]}: {error.strerror}") from error
        status = proc.wait()
        if not events_path.exists():
            raise ToolError("the program logged no heap calls (was the recorder preloaded?)")
        events = read_events(events_path)
        pid = args.pid
        if pid is None and any(e.pid == proc.pid for e in events):
            pid = proc.pid
        trace, stats = convert(events, pid=pid, max_ops=args.max_ops, fill=args.fill)
    output.write_bytes(trace)
    shown = output.relative_to(REPO_ROOT) if output.resolve().is_relative_to(REPO_ROOT) else output
    print(f"recorded {len(events)} events (exit status {status}); process {stats['pid']}: {stats.get('ops', 0)} ops "
          f"on {stats.get('threads', 0)} thread(s), {stats.get('evictions', 0)} slot evictions, "
          f"{stats.get('untracked_frees_skipped', 0)} untracked frees skipped -> {shown} ({len(trace)} bytes)")
    if stats.get("truncated"):
        print(f"scalloc: note: stopped after --max-ops={args.max_ops} ops")
    print(f"replay it: out/<config>/differential_fuzzer_replay {shown}")
    return 0


def register(subparsers):
    parser = subparsers.add_parser(
        "record", help="record a program's heap calls as a fuzzer trace",
        description="Runs CMD with libscalloc_record.so preloaded (built in out/<config>), then converts the "
                    "logged heap calls of the process into the fuzzers' trace format: pointers become the 64 "
                    "slots (least recently used slot evicted when all are live), thread changes become switch "
                    "ops. The trace replays in any trace fuzzer. See fuzzers/README.md.",
        usage="tools/scalloc record [--out FILE] [options] -- CMD [ARGS...]\n"
              "       tools/scalloc record --dump TRACE")
    parser.add_argument("--out", metavar="FILE", help="trace to write (default: out/record/<program>.trace)")
    parser.add_argument("--dump", metavar="TRACE", help="print a trace file as text (one op per line) and exit")
    parser.add_argument("--pid", type=int, help="process to convert when the command forks or runs others "
                                                "(default: the command's own process)")
    parser.add_argument("--max-ops", type=int, default=0, metavar="N", help="stop the trace after N ops")
    parser.add_argument("--fill", action="store_true",
                        help="fill every new block with a pattern, so replays also check contents")
    parser.add_argument("--events", metavar="FILE", help="keep the raw event log in FILE")
    parser.add_argument("--library", metavar="SO", help="use this libscalloc_record.so instead of building one")
    parser.add_argument("--config", default="release", help="build configuration for the library (default release)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="the command to run, after --")
    parser.set_defaults(func=_command)

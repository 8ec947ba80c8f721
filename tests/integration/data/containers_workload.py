# Dict/list/str-heavy Python workload for tests/integration/python_test.sh: its output must not depend on the
# malloc underneath. Prints one summary line per phase; everything is derived from a fixed seed.

import collections
import hashlib
import json
import random
import re
import sys


def digest(value):
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def words(rng, count):
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(count)]


def phase_dicts(rng):
    # Growing and shrinking dicts force many table resizes (reallocations of various sizes).
    table = {}
    for i, word in enumerate(words(rng, 60000)):
        table.setdefault(word, []).append(i)
        if i % 7 == 0:
            table.pop(word[::-1], None)
    nested = {k: {"len": len(v), "first": v[0], "tags": set(k)} for k, v in table.items() if len(v) > 1}
    counts = collections.Counter(len(k) for k in table)
    return digest((len(table), sorted(counts.items()), sorted((k, v["len"], v["first"]) for k, v in nested.items())))


def phase_lists(rng):
    data = [rng.randint(-10**9, 10**9) for _ in range(200000)]
    data.sort()
    chunks = [data[i:i + rng.randint(1, 500)] for i in range(0, len(data), 300)]
    flat = [x for chunk in chunks for x in chunk[::-1]]
    matrix = [[(i * j) % 97 for j in range(300)] for i in range(300)]
    transposed = list(map(list, zip(*matrix)))
    deque = collections.deque(maxlen=1000)
    for x in flat:
        deque.append(x)
    return digest((sum(flat), len(chunks), sum(map(sum, transposed)), list(deque)[:10]))


def phase_strings(rng):
    pieces = words(rng, 40000)
    text = " ".join(pieces)
    upper = text.upper()
    replaced = re.sub(r"([aeiou])([a-z])", r"\2\1", text)
    split_again = replaced.split(" ")
    builder = []
    for i, piece in enumerate(split_again):
        builder.append(f"{i}:{piece}:{len(piece):03d}")
    joined = "|".join(builder)
    encoded = joined.encode("utf-8")
    b = bytearray(encoded)
    for i in range(0, len(b), 3):
        b[i] ^= 0x20
    return digest((len(upper), hashlib.md5(encoded).hexdigest(), bytes(b[:64]), joined.count("a")))


def phase_objects(rng):
    class Node:
        __slots__ = ("key", "children", "payload")

        def __init__(self, key):
            self.key = key
            self.children = []
            self.payload = "x" * (key % 64)

    nodes = [Node(i) for i in range(50000)]
    for node in nodes[1:]:
        nodes[rng.randrange(0, node.key)].children.append(node)
    depth = {0: 0}
    stack = [nodes[0]]
    while stack:
        node = stack.pop()
        for child in node.children:
            depth[child.key] = depth[node.key] + 1
            stack.append(child)
    doc = {"nodes": [{"k": n.key, "c": [c.key for c in n.children]} for n in nodes[:5000]]}
    text = json.dumps(doc, sort_keys=True)
    back = json.loads(text)
    return digest((max(depth.values()), sum(depth.values()), len(text), back["nodes"][42]))


def main():
    rng = random.Random(20150101)
    for name, phase in (("dicts", phase_dicts), ("lists", phase_lists), ("strings", phase_strings),
                        ("objects", phase_objects)):
        print(f"{name}: {phase(rng)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""embedded_put.py - test_embedded.sh's Python application: relayd_embedded (ctypes) from 8 threads.

Usage: embedded_put.py PORT_A PORT_B N
Failover group k1 -> PORT_A (priority 10), k2 -> PORT_B (priority 5); 8 threads put the numbers 0..N-1
(even threads put_all in batches of 100, odd threads put one by one): the first half, then "HALF" on stdout
and a line read from stdin (the test kills collector A meanwhile), then the rest; stop with 15 s to deliver.
Also checks the exceptions: configure refused (EmbeddedError CONFIG), put before start (STATE).
Exit status 0 when every expectation held.
"""
import sys
import threading

import relayd_embedded

THREADS = 8


def put_numbers(agent, thread, lo, hi, errors):
    try:
        batch = []
        for i in range(lo, hi):
            if i % THREADS != thread:
                continue
            if thread % 2:
                agent.put(str(i).encode(), {"thread": "single"})
                continue
            batch.append((str(i).encode(), {"thread": "batch"}))
            if len(batch) == 100:
                agent.put_all(batch)
                batch = []
        if batch:
            agent.put_all(batch)
    except Exception as e:  # reported by the main thread
        errors.append(repr(e))


def put_range(agent, lo, hi):
    errors = []
    threads = [threading.Thread(target=put_numbers, args=(agent, t, lo, hi, errors)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("FAIL put: %s" % errors[:3])
        sys.exit(1)


def main():
    port_a, port_b, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lines = []
    agent = relayd_embedded.EmbeddedAgent("py-failover")
    agent.set_log(lambda level, line: lines.append(line), "info")
    try:
        agent.configure({"channel.type": "memory", "sinks": "k1", "k1.type": "avro", "colour": "blue"})
        print("FAIL configure accepted an unknown key")
        sys.exit(1)
    except relayd_embedded.EmbeddedError as e:
        if e.name != "CONFIG" or "colour" not in str(e) or "processor.type" not in str(e):
            print("FAIL configure error: %s %s" % (e.name, e))
            sys.exit(1)
    try:
        agent.put(b"too early")
        print("FAIL put before start accepted")
        sys.exit(1)
    except relayd_embedded.EmbeddedError as e:
        if e.name != "STATE":
            print("FAIL put before start: %s %s" % (e.name, e))
            sys.exit(1)
    agent.configure({
        "channel.type": "memory", "channel.capacity": "20000", "channel.transactionCapacity": "1000",
        "sinks": "k1 k2",
        "k1.type": "avro", "k1.hostname": "127.0.0.1", "k1.port": port_a, "k1.batch-size": "1000",
        "k2.type": "avro", "k2.hostname": "127.0.0.1", "k2.port": port_b, "k2.batch-size": "1000",
        "processor.type": "failover", "processor.priority.k1": "10", "processor.priority.k2": "5",
        "processor.maxpenalty": "10000",
        "source.interceptors": "i1", "source.interceptors.i1.type": "static",
        "source.interceptors.i1.key": "app", "source.interceptors.i1.value": "embedded-py"})
    agent.start()
    put_range(agent, 0, n // 2)
    print("HALF", flush=True)
    sys.stdin.readline()
    put_range(agent, n // 2, n)
    agent.stop(15000)
    print("STOP status=OK left=0")
    agent.close()
    if not any("agent py-failover started" in line for line in lines):
        print("FAIL the log callback got no start line: %s" % lines[:5])
        sys.exit(1)
    print("LOG lines=%d" % len(lines))


main()

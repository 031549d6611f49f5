"""A degraded wire between two interfaces, for kernels without tc netem.

Run inside a namespace holding both interfaces and no addresses (so its own stack
drops everything): every frame arriving on one side leaves on the other `delay_ms`
later, except `loss_pct` percent of them, which are dropped. Frames keep their order.
PACKET_VNET_HDR carries each frame's offload state (checksum still to fill in, GSO)
across unchanged, so neither end needs offloads turned off. Exits when stdin closes,
printing how many frames it passed and dropped.

usage: wire.py <if_a> <if_b> <delay_ms> <loss_pct>
"""
import collections
import os
import random
import select
import socket
import sys
import time

SOL_PACKET = 263
PACKET_VNET_HDR = 15
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_side(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


def main():
    if_a, if_b = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[3]) / 1000.0
    loss = float(sys.argv[4]) / 100.0
    a, b = open_side(if_a), open_side(if_b)
    peer = {a: b, b: a}
    # Per direction, frames in arrival order with the time they may leave.
    queues = {a: collections.deque(), b: collections.deque()}
    stdin = sys.stdin.fileno()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    passed = dropped = 0
    while True:
        now = time.monotonic()
        for dst, q in queues.items():
            while q and q[0][0] <= now:
                try:
                    dst.send(q.popleft()[1])
                except OSError:
                    pass  # the link is down, or the frame no longer fits: lost, as on a wire
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) if due else None
        readable, _, _ = select.select([a, b, stdin], [], [], timeout)
        for s in readable:
            if s == stdin:
                if not os.read(stdin, 4096):
                    sys.stdout.write("passed %d dropped %d\n" % (passed, dropped))
                    return
                continue
            while True:
                try:
                    data, addr = s.recvfrom(262144)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own sends, seen again
                if random.random() < loss:
                    dropped += 1
                    continue
                passed += 1
                queues[peer[s]].append((time.monotonic() + delay, data))


if __name__ == "__main__":
    main()

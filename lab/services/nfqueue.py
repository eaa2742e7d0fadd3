#!/usr/bin/python3
"""The censor's packet-level userspace: NFQUEUE over raw netlink, Python
standard library only (Debian's python3, no bindings to install).

- DNS injection (queue "dns"): a query for a listed name is answered by a
  forged reply from the resolver's address, sent BEFORE the query is let
  through, so the injected answer always wins the race; the real answer
  follows unless the rule drops the query (FACTS.md: Iran injects on the
  path, whichever resolver is asked).
- Delay (queue "delay"): every queued packet is held for a fixed time, for
  the noise-only scenarios (this kernel has no netem).

usage: /usr/bin/python3 lab/services/nfqueue.py <config.json>
"""
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_PACKET = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_PAYLOAD = 10
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_DROP = 0
NF_ACCEPT = 1
SO_MARK = 36
# Injected packets carry this mark; a raw-table OUTPUT rule keeps them out of
# conntrack, so they cannot clash with the query's own connection entry.
INJECT_MARK = 0x77


def log(msg):
    sys.stdout.write('%s nfqueue: %s\n' % (time.strftime('%Y-%m-%dT%H:%M:%S'), msg))
    sys.stdout.flush()


def nla(attr_type, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, attr_type) + payload + b'\0' * ((4 - length % 4) % 4)


class Netlink:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind((0, 0))
        self.seq = 0

    def send(self, msg_type, queue, attrs, ack=False):
        self.seq += 1
        body = struct.pack('=BB', socket.AF_UNSPEC, 0) + struct.pack('!H', queue) + b''.join(attrs)
        flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
        header = struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, self.seq, 0)
        self.sock.send(header + body)
        if ack:
            self.wait_ack(self.seq)

    def wait_ack(self, seq):
        data = self.sock.recv(65536)
        for msg_type, _, msg_seq, payload in parse_messages(data):
            if msg_type == NLMSG_ERROR and msg_seq == seq:
                err = struct.unpack('=i', payload[:4])[0]
                if err != 0:
                    raise OSError(-err, os.strerror(-err))
                return
        raise OSError('no netlink ack for seq %d' % seq)

    def bind_queue(self, queue):
        self.send(NFQNL_MSG_CONFIG, queue, [nla(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, 0))], ack=True)
        self.send(NFQNL_MSG_CONFIG, queue, [nla(NFQA_CFG_PARAMS, struct.pack('!IB', 0xFFFF, NFQNL_COPY_PACKET))], ack=True)
        self.send(NFQNL_MSG_CONFIG, queue, [nla(NFQA_CFG_QUEUE_MAXLEN, struct.pack('!I', 4096))], ack=True)

    def verdict(self, queue, packet_id, verdict):
        self.send(NFQNL_MSG_VERDICT, queue, [nla(NFQA_VERDICT_HDR, struct.pack('!II', verdict, packet_id))])


def parse_messages(data):
    pos = 0
    while pos + 16 <= len(data):
        length, msg_type, flags, seq, _pid = struct.unpack_from('=IHHII', data, pos)
        if length < 16:
            break
        yield msg_type, flags, seq, data[pos + 16:pos + length]
        pos += (length + 3) & ~3


def parse_attrs(data):
    attrs = {}
    pos = 0
    while pos + 4 <= len(data):
        length, attr_type = struct.unpack_from('=HH', data, pos)
        if length < 4:
            break
        attrs[attr_type & 0x3FFF] = data[pos + 4:pos + length]
        pos += (length + 3) & ~3
    return attrs


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload):
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 17, udp_len)
    udp = struct.pack('!HHHH', sport, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack('!H', csum) + udp[8:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + udp_len, random.randint(0, 0xFFFF), 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:]
    return ip + udp


def read_qname(dns, pos):
    labels = []
    while pos < len(dns):
        n = dns[pos]
        if n == 0:
            return '.'.join(labels).lower(), pos + 1
        if n > 63 or pos + 1 + n > len(dns):
            return None, pos
        labels.append(dns[pos + 1:pos + 1 + n].decode('latin1'))
        pos += 1 + n
    return None, pos


def forge_reply(dns, rule):
    """The forged answer to the query `dns`, or None when it is not a query."""
    if len(dns) < 12 or dns[2] & 0x80:
        return None
    qname, end = read_qname(dns, 12)
    if qname is None or end + 4 > len(dns):
        return None
    qtype = struct.unpack_from('!H', dns, end)[0]
    question = dns[12:end + 4]
    rd = dns[2] & 0x01
    if rule['action'] == 'nxdomain':
        flags, answers = 0x8000 | (rd << 8) | 0x0080 | 3, []
    elif qtype in (1, 255):
        flags, answers = 0x8000 | (rd << 8) | 0x0080, [rule.get('answer', '10.10.34.36')]
    else:
        # AAAA and the rest: an empty NOERROR, so a stub asking A and AAAA is not left waiting.
        flags, answers = 0x8000 | (rd << 8) | 0x0080, []
    out = struct.pack('!HHHHHH', struct.unpack_from('!H', dns, 0)[0], flags, 1, len(answers), 0, 0) + question
    for addr in answers:
        out += struct.pack('!HHHIH', 0xC00C, 1, 1, 300, 4) + socket.inet_aton(addr)
    return out


class Injector:
    def __init__(self, rules):
        self.rules = {r['name'].lower().rstrip('.'): r for r in rules}
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.raw.setsockopt(socket.SOL_SOCKET, SO_MARK, INJECT_MARK)

    def handle(self, packet):
        """Returns the verdict for a queued IPv4 packet, after injecting if a rule says so."""
        if len(packet) < 28 or packet[0] >> 4 != 4 or packet[9] != 17:
            return NF_ACCEPT
        ihl = (packet[0] & 0x0F) * 4
        src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
        sport, dport = struct.unpack_from('!HH', packet, ihl)
        dns = packet[ihl + 8:]
        qname, _ = read_qname(dns, 12) if len(dns) >= 12 else (None, 0)
        rule = self.rules.get(qname) if qname else None
        if rule is None:
            return NF_ACCEPT
        reply = forge_reply(dns, rule)
        if reply is not None:
            self.raw.sendto(ipv4_udp(dst, src, dport, sport, reply), (src, 0))
            log('injected %s for %s (asked %s)' % (rule['action'], qname, dst))
        return NF_DROP if rule.get('dropReal') else NF_ACCEPT


def main():
    if len(sys.argv) != 2:
        sys.stderr.write('usage: nfqueue.py <config.json>\n')
        sys.exit(2)
    with open(sys.argv[1]) as f:
        config = json.load(f)
    nl = Netlink()
    injector, dns_queue, delay_queue, delay_s = None, None, None, 0.0
    if config.get('dns'):
        dns_queue = int(config['dns']['queue'])
        injector = Injector(config['dns']['rules'])
        nl.bind_queue(dns_queue)
    if config.get('delay'):
        delay_queue = int(config['delay']['queue'])
        delay_s = float(config['delay']['ms']) / 1000.0
        nl.bind_queue(delay_queue)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log('ready (dns queue %s, delay queue %s)' % (dns_queue, delay_queue))
    held = []  # (release time, packet id): delayed verdicts, in time order
    while True:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else None
        readable, _, _ = select.select([nl.sock], [], [], timeout)
        if readable:
            try:
                data = nl.sock.recv(262144)
            except OSError as err:  # ENOBUFS under load: the kernel dropped some; go on
                log('recv: %s' % err)
                data = b''
            for msg_type, _flags, _seq, payload in parse_messages(data):
                if msg_type != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET or len(payload) < 4:
                    continue
                queue = struct.unpack_from('!H', payload, 2)[0]
                attrs = parse_attrs(payload[4:])
                if NFQA_PACKET_HDR not in attrs:
                    continue
                packet_id = struct.unpack_from('!I', attrs[NFQA_PACKET_HDR], 0)[0]
                if queue == dns_queue and injector is not None:
                    try:
                        verdict = injector.handle(attrs.get(NFQA_PAYLOAD, b''))
                    except Exception as err:  # a malformed packet must not stop the censor
                        log('dns: %r' % err)
                        verdict = NF_ACCEPT
                    nl.verdict(queue, packet_id, verdict)
                elif queue == delay_queue:
                    heapq.heappush(held, (time.monotonic() + delay_s, packet_id))
                else:
                    nl.verdict(queue, packet_id, NF_ACCEPT)
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, packet_id = heapq.heappop(held)
            nl.verdict(delay_queue, packet_id, NF_ACCEPT)


if __name__ == '__main__':
    main()

"""zonefile - write ldns-testns datafiles from simple zone data.

Shared by the conformance runner and the scenario tests. A zone is a dict
name -> list of records; a record is (type, value) with value already in
zone-file text form, or the string "TIMEOUT" (answered with SERVFAIL, which
our resolver treats exactly like a timeout: a temporary failure) or "SERVFAIL", or "SLEEP" (no answer within 3 s), and ("NOCHASE", "") on a
name with a CNAME makes the server return the CNAME without its target.
Every (name, type) we may be asked gets an entry; other types at a known name
get NODATA; unknown names get NXDOMAIN (DESIGN.md: end with a catch-all).
"""

QUERY_TYPES = ("TXT", "A", "AAAA", "MX", "PTR", "CNAME")


def txt_rdata(strings):
    """Quote character-strings for zone-file text, splitting at 255 bytes."""
    if isinstance(strings, str):
        strings = [strings]
    out = []
    for s in strings:
        data = s.encode("utf-8") if isinstance(s, str) else s
        chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
        for chunk in chunks:
            text = "".join(
                "\\" + chr(b) if b in (0x22, 0x5C)
                else chr(b) if 0x20 <= b < 0x7F
                else "\\%03d" % b
                for b in chunk)
            out.append('"%s"' % text)
    return " ".join(out)


def zone_name(name):
    """A domain name in zone-file text: unusual bytes as \\DDD."""
    data = name.encode("utf-8")
    return "".join(chr(b) if (chr(b).isalnum() and b < 0x80) or chr(b) in "-_.*"
                   else "\\%03d" % b for b in data)


def entry(qname, qtype, rcode="NOERROR", answers=(), authority=(), copy_query=False,
          sleep=0):
    lines = ["ENTRY_BEGIN"]
    if qname is None:
        lines.append("MATCH opcode")
    elif qtype is None:
        lines.append("MATCH opcode qname")
    else:
        lines.append("MATCH opcode qtype qname")
    adjust = "ADJUST copy_id"
    if copy_query:
        adjust += " copy_query"
    if sleep:
        adjust += " sleep=%d" % sleep
    lines.append(adjust)
    lines.append("REPLY QR AA RD RA %s" % rcode)
    if qname is not None:
        lines.append("SECTION QUESTION")
        lines.append("%s. IN %s" % (zone_name(qname), qtype or "A"))
    if answers:
        lines.append("SECTION ANSWER")
        lines.extend(answers)
    if authority:
        lines.append("SECTION AUTHORITY")
        lines.extend(authority)
    lines.append("ENTRY_END")
    return "\n".join(lines)


def _rrset(zone, name, qtype, depth=0):
    """Records answering (name, qtype), chasing CNAMEs like a recursive server
    (unless the name is marked "NOCHASE": then the CNAME comes alone)."""
    records = zone.get(name, [])
    found = [f"{zone_name(name)}. 300 IN {t} {v}" for t, v in records if t == qtype]
    if found or depth > 8:
        return found
    for t, v in records:
        if t == "CNAME" and qtype != "CNAME":
            target = v.rstrip(".").lower()
            own = [f"{zone_name(name)}. 300 IN CNAME {zone_name(target)}."]
            if ("NOCHASE", "") in records:
                return own
            return own + _rrset(zone, target, qtype, depth + 1)
    return []


def datafile(zone, ttl=300):
    """The whole datafile text for a zone dict."""
    zone = {name.rstrip(".").lower(): recs for name, recs in zone.items()}
    parts = ["$TTL %d" % ttl]
    for name, records in zone.items():
        if "SLEEP" in records:
            # a real timeout: the server sleeps past the client's timeout
            parts.append(entry(name, None, copy_query=True, sleep=3))
            continue
        failure = next((r for r in records if r in ("TIMEOUT", "SERVFAIL")), None)
        recs = [r for r in records if isinstance(r, tuple)]
        sub = dict(zone)
        sub[name] = recs
        for qtype in QUERY_TYPES:
            answers = _rrset(sub, name, qtype)
            if answers:
                parts.append(entry(name, qtype, answers=answers))
            elif failure:
                parts.append(entry(name, qtype, rcode="SERVFAIL"))
        parts.append(entry(name, None, rcode="SERVFAIL" if failure else "NOERROR",
                           copy_query=True))
    parts.append(entry(None, None, rcode="NXDOMAIN", copy_query=True))
    return "\n".join(parts) + "\n"

#!/usr/bin/env python3
"""rows.py - put history rows into a migrated SQLite history store, as the
milter would have written them, and print the expected per-domain counts.

usage: rows.py DB BEGIN SPEC...   SPEC = domain:rua:count (rua '-' for none;
',' inside rua written as '|'). Messages get times BEGIN.., a few source
IPs, a mix of pass/fail, one DKIM signature each (two for every 5th), the
null sender for every 7th, a HELO-scope SPF for every 11th and an XML
special character in one override comment.
"""
import sqlite3
import sys


def main():
    db, begin = sys.argv[1], int(sys.argv[2])
    con = sqlite3.connect(db)
    cur = con.cursor()
    t = begin
    for spec in sys.argv[3:]:
        domain, rest = spec.split(':', 1)
        rua, count = rest.rsplit(':', 1)
        rua = None if rua == '-' else rua.replace('|', ',')
        for i in range(int(count)):
            t += 1
            ok = i % 4 != 3
            null_sender = i % 7 == 6
            helo = i % 11 == 10
            cur.execute(
                "INSERT INTO history_message(received, mta, source_ip, header_from,"
                " envelope_from, envelope_to, helo, policy_domain, discovery, p, sp, np,"
                " adkim, aspf, testing, pct, fo, rua, ruf, dmarc_result, dkim_aligned,"
                " spf_aligned, disposition, override_type, override_comment, spf_domain,"
                " spf_scope, spf_result) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                "?,?,?,?,?)",
                (t, 'mx1.rx.test', '192.0.2.%d' % (i % 3 + 1), domain,
                 '' if null_sender else domain, 'rx.test', 'mail.' + domain, domain,
                 'treewalk', 'quarantine', None, 'reject', 'r', 'r', 'n', None, '1', rua, None,
                 'pass' if ok else 'fail', 'pass' if ok else 'fail',
                 'pass' if ok and not null_sender else 'fail',
                 'none' if ok else 'quarantine',
                 'mailing_list' if i == 5 else None,
                 'list <a&b> "x"' if i == 5 else None,
                 ('mail.' + domain) if (helo or null_sender) else domain,
                 'helo' if (helo or null_sender) else 'mfrom',
                 'pass' if ok else 'softfail'))
            mid = cur.lastrowid
            sigs = [(domain, 'sel1', 'pass' if ok else 'fail')]
            if i % 5 == 4:
                sigs.append(('esp.example', 's2024', 'pass'))
            for seq, (d, s, r) in enumerate(sigs):
                cur.execute("INSERT INTO history_dkim(message_id, seq, domain, selector, result,"
                            " human) VALUES (?,?,?,?,?,?)", (mid, seq, d, s, r, None))
        print("%s %s" % (domain, count))
    con.commit()


if __name__ == '__main__':
    main()

#!/usr/bin/perl
# arc_peers.pl - Mail::DKIM (Debian libmail-dkim-perl) as an ARC peer for
# arc_interop.py: seal a message, or verify its chain. The message comes on
# stdin (CRLF line ends); keys are looked up through Net::DNS pointed at the
# test's ldns-testns, never the system resolver.
#
# usage: arc_peers.pl seal KEYFILE DOMAIN SELECTOR SRV_ID TIMESTAMP HEADERS
#          prints the new set (ARC-Seal, ARC-Message-Signature,
#          ARC-Authentication-Results; folded, CRLF), or "skipped: DETAIL"
#          on stderr with exit 2; the chain value comes from the message's
#          Authentication-Results of SRV_ID (arc=...), as a list would set it
#        arc_peers.pl verify NS_PORT
#          prints "RESULT DETAIL" (pass, fail, none)
use strict;
use warnings;
use Mail::DKIM::ARC::Signer;
use Mail::DKIM::ARC::Verifier;
use Mail::DKIM::DNS;
use Mail::DKIM::TextWrap;
use Net::DNS::Resolver;

# feed - the message from stdin into a Mail::DKIM object, CRLF line ends
sub feed {
    my ($obj) = @_;
    binmode STDIN;
    local $/ = "\n";
    while ( my $line = <STDIN> ) {
        $line =~ s/\r?\n\z//;
        $obj->PRINT("$line\015\012");
    }
    $obj->CLOSE;
}

my $mode = shift @ARGV // '';
if ( $mode eq 'seal' ) {
    my ( $keyfile, $domain, $selector, $srv_id, $time, $headers ) = @ARGV;
    my $signer = Mail::DKIM::ARC::Signer->new(
        Algorithm => 'rsa-sha256',
        Chain     => 'ar',
        Domain    => $domain,
        SrvId     => $srv_id,
        Selector  => $selector,
        KeyFile   => $keyfile,
        Timestamp => $time,
        Headers   => $headers,
    );
    feed($signer);
    if ( $signer->result ne 'sealed' ) {
        print STDERR "skipped: ", ( $signer->result_detail // '' ), "\n";
        exit 2;
    }
    binmode STDOUT;
    print $signer->as_string;
    exit 0;
}
elsif ( $mode eq 'verify' ) {
    my ($port) = @ARGV;
    my $res = Net::DNS::Resolver->new(
        nameservers => ['127.0.0.1'],
        port        => $port,
        recurse     => 1,
        udp_timeout => 3,
        tcp_timeout => 3,
        retry       => 1,
        searchlist  => [],
        defnames    => 0,
        dnsrch      => 0,
    );
    Mail::DKIM::DNS::resolver($res);
    my $arc = Mail::DKIM::ARC::Verifier->new();
    feed($arc);
    my $detail = $arc->result_detail // '';
    $detail =~ s/\s+/ /g;
    print $arc->result, " ", $detail, "\n";
    exit 0;
}
die "usage: arc_peers.pl seal KEYFILE DOMAIN SELECTOR SRV_ID TIMESTAMP HEADERS | verify NS_PORT\n";

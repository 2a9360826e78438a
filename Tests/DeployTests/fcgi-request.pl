#!/usr/bin/perl
# One FastCGI GET request straight to a unix socket, as any process that can reach the socket
# could send it (the deploy test's Debian box has perl-base, but no python and no cgi-fcgi).
# Prints the application's CGI answer (Status line, headers, body).
# usage: fcgi-request.pl SOCKET URI [NAME=VALUE ...]   (extra params: headers as HTTP_*, …)
use strict;
use warnings;
use Socket;

my ($path, $uri, @pairs) = @ARGV;
die "usage: $0 SOCKET URI [NAME=VALUE ...]\n" unless defined $uri;
socket(my $socket, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
connect($socket, pack_sockaddr_un($path)) or die "connect $path: $!\n";

# A record: version 1, type, request id 1, content length, no padding.
sub record { my ($type, $content) = @_; return pack("CCnnCx", 1, $type, 1, length $content, 0) . $content }
# A name or value length: one byte below 128, else four with the high bit set.
sub length_of { my $n = length $_[0]; return $n < 128 ? pack("C", $n) : pack("N", $n | 0x80000000) }

my $params = "";
for my $pair ("REQUEST_METHOD=GET", "REQUEST_URI=$uri", @pairs) {
    my ($name, $value) = split /=/, $pair, 2;
    $params .= length_of($name) . length_of($value) . $name . $value;
}
# BEGIN_REQUEST (role 1, responder; no FCGI_KEEP_CONN), PARAMS, their end, an empty STDIN.
my $request = record(1, pack("nCx5", 1, 0)) . record(4, $params) . record(4, "") . record(5, "");
defined syswrite($socket, $request) or die "write: $!\n";

sub read_exactly {
    my ($n) = @_;
    my $data = "";
    while (length $data < $n) {
        my $got = sysread($socket, $data, $n - length $data, length $data);
        die "read: $!\n" unless defined $got;
        return undef if $got == 0;
    }
    return $data;
}

my $answer = "";
while (defined(my $header = read_exactly(8))) {
    my (undef, $type, undef, $length, $padding) = unpack("CCnnC", $header);
    my $content = $length + $padding > 0 ? read_exactly($length + $padding) : "";
    last unless defined $content;
    $answer .= substr($content, 0, $length) if $type == 6;  # STDOUT
    last if $type == 3;                                     # END_REQUEST
}
print $answer;

#!/usr/bin/perl
# What Email::MIME (libemail-mime-perl) reads in a message, as JSON: the
# view of read-python.py.
#
# usage: read-perl.pl FILE
use strict;
use warnings;
use Email::MIME;
use Email::MIME::ContentType qw(parse_content_type parse_content_disposition);
use Digest::SHA qw(sha256_hex);
use Encode qw(decode);
use JSON::PP;

sub view {
	my ($msg) = @_;
	my $subject = $msg->header_str('Subject');
	my %out = (subject => $subject, text => undef, html => undef,
		attachments => []);
	my $visit;
	$visit = sub {
		my ($part) = @_;
		my $ct = parse_content_type($part->header_raw('Content-Type')
			// 'text/plain; charset=us-ascii');
		my $type = lc("$ct->{type}/$ct->{subtype}");
		my $dh = $part->header_raw('Content-Disposition');
		my $disp = defined $dh ? lc(parse_content_disposition($dh)->{type})
			: undef;
		my $name = $part->filename;
		if ($type eq 'message/rfc822') {
			push @{$out{attachments}}, {type => $type,
				disposition => $disp, filename => $name,
				cid => undef,
				message => view(Email::MIME->new($part->body))};
			return;
		}
		if ($type =~ m{^multipart/}) {
			$visit->($_) for $part->subparts;
			return;
		}
		my $is_att = defined $disp && $disp eq 'attachment';
		if ($type eq 'text/plain' && !$is_att && !defined $out{text}) {
			$out{text} = $part->body_str;
			return;
		}
		if ($type eq 'text/html' && !$is_att && !defined $out{html}) {
			$out{html} = $part->body_str;
			return;
		}
		my $data = $part->body;
		my $cid = $part->header_raw('Content-ID');
		if (defined $cid) {
			$cid =~ s/^\s+|\s+$//g;
			$cid =~ s/^<|>$//g;
		}
		push @{$out{attachments}}, {type => $type, disposition => $disp,
			filename => $name, cid => $cid,
			sha256 => sha256_hex($data), size => length($data)};
	};
	$visit->($msg);
	return \%out;
}

local $/;
open my $fh, '<:raw', $ARGV[0] or die "$ARGV[0]: $!\n";
my $raw = <$fh>;
print JSON::PP->new->utf8->canonical->pretty->encode(view(Email::MIME->new($raw)));

# postfix.sh - a private Postfix instance for tests and benchmarks: its own
# config directory, queue and port, virtual delivery to DIR/mail/inbox/.

# postfix_configure DIR PORT MILTERS: write DIR/etc/{main,master}.cf
# (MILTERS is Postfix's smtpd_milters value, empty for none)
postfix_configure() {
	local dir=$1 port=$2 milters=$3
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/mail"
	chown nobody:nogroup "$dir/mail"
	chown postfix "$dir/data"
	cat >"$dir/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.e2e.test
mydomain = e2e.test
mydestination =
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = e2e.test
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(getent group nogroup | cut -d: -f3)
virtual_minimum_uid = 1
alias_maps =
alias_database =
smtpd_milters = $milters
milter_default_action = tempfail
smtputf8_enable = no
biff = no
smtp_dns_support_level = disabled
disable_dns_lookups = yes
CONF
	cat >"$dir/etc/master.cf" <<CONF
127.0.0.1:$port inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
virtual   unix - n n - - virtual
smtp      unix - - n - - smtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CONF
}

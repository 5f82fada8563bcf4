#!/usr/bin/env bash
# Brings up a private Prosody on loopback with a demo account, a private
# ngIRCd on loopback, a private Kannel (bearerbox and smsbox with a fake
# SMSC, and fakesmsc as the phone network), as root a private Dovecot
# (IMAP) and Postfix (SMTP, and submission with AUTH through Dovecot) with
# two mailboxes, and Ferry attached with four transports: irc.localhost (the
# real IRC bridge, pointed at that ngIRCd), sms.localhost (the real SMS
# bridge, pointed at that Kannel), mail.localhost (the real email bridge,
# for those mailboxes, with a relay domain routed to it by that Postfix)
# and echo.localhost (demo build only: an "echo" network that stands in for
# a legacy network). Then prints how to log in. Ctrl-C stops everything it
# started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir="$root/demo"
c2s_port=${FERRY_DEMO_C2S_PORT:-5222}
comp_port=${FERRY_DEMO_COMPONENT_PORT:-5347}
http_port=${FERRY_DEMO_HTTP_PORT:-9090}
irc_port=${FERRY_DEMO_IRC_PORT:-6667}
# Kannel's ports, from one base: admin BASE, smsbox BASE+1, fake SMSC
# BASE+2, sendsms BASE+13 (Kannel's customary 13000, 13001 and 13013).
kannel_base=${FERRY_DEMO_KANNEL_BASE:-13000}
kannel_admin_port=$kannel_base
kannel_smsbox_port=$((kannel_base + 1))
kannel_smsc_port=$((kannel_base + 2))
kannel_sendsms_port=$((kannel_base + 13))
# Where Ferry's SMS transport serves Kannel's callbacks (texts from phones,
# delivery reports).
sms_hook_port=${FERRY_DEMO_SMS_HOOK_PORT:-8088}
# ngIRCd refuses a server name without a dot. Users write it in JIDs:
# #channel%irc.demo.test@irc.localhost, nick%irc.demo.test@irc.localhost.
irc_name=irc.demo.test
# The mail side, as testenv runs it (internal/testenv/dovecot.go and
# postfix.go). Dovecot: IMAP. Postfix: SMTP without AUTH, taking mail for
# the demo's domains from loopback, and submission, AUTH through Dovecot
# (what Ferry sends a user's mail through). Ferry: its relay domain's SMTP
# server, which Postfix routes relay.demo.test to, and its attachment links.
imap_port=${FERRY_DEMO_IMAP_PORT:-1143}
smtp_port=${FERRY_DEMO_SMTP_PORT:-10025}
submission_port=${FERRY_DEMO_SUBMISSION_PORT:-10587}
mail_relay_port=${FERRY_DEMO_MAIL_RELAY_PORT:-10026}
mail_link_port=${FERRY_DEMO_MAIL_LINK_PORT:-8089}
# demo@mail.demo.test is the mailbox registered with mail.localhost, and
# friend@remote.demo.test writes to it; both are Dovecot users (password:
# the part before the @).
mail_domain=mail.demo.test
remote_domain=remote.demo.test
relay_domain=relay.demo.test
# Dovecot refuses to access mail as root: the maildirs belong to nobody.
mail_uid=65534
mail_gid=65534
# Dovecot and Postfix need root (Postfix's master, Dovecot's login and auth
# processes as its own users); without it the demo goes on without mail.
with_mail=""
if [ "$(id -u)" -eq 0 ]; then
	with_mail=1
fi
case "$dir" in
*[[:space:]]*)
	# Postfix's master.cf cannot hold the path of Dovecot's auth socket.
	[ -z "$with_mail" ] || echo "== $dir has white space in its path: no Dovecot, Postfix or mail.localhost in this demo"
	with_mail=""
	;;
esac
# Every port the demo will use, as "VARIABLE:port", checked before anything
# starts: a port someone else holds would leave a demo server unbound and
# point Ferry or the client at the other program (a system Prosody on 5222,
# say) while the demo claims its own is there.
demo_ports=(
	"FERRY_DEMO_C2S_PORT:$c2s_port"
	"FERRY_DEMO_COMPONENT_PORT:$comp_port"
	"FERRY_DEMO_HTTP_PORT:$http_port"
	"FERRY_DEMO_IRC_PORT:$irc_port"
	"FERRY_DEMO_KANNEL_BASE:$kannel_admin_port"
	"FERRY_DEMO_KANNEL_BASE:$kannel_smsbox_port"
	"FERRY_DEMO_KANNEL_BASE:$kannel_smsc_port"
	"FERRY_DEMO_KANNEL_BASE:$kannel_sendsms_port"
	"FERRY_DEMO_SMS_HOOK_PORT:$sms_hook_port"
)
if [ -n "$with_mail" ]; then
	demo_ports+=(
		"FERRY_DEMO_IMAP_PORT:$imap_port"
		"FERRY_DEMO_SMTP_PORT:$smtp_port"
		"FERRY_DEMO_SUBMISSION_PORT:$submission_port"
		"FERRY_DEMO_MAIL_RELAY_PORT:$mail_relay_port"
		"FERRY_DEMO_MAIL_LINK_PORT:$mail_link_port"
	)
fi
# in_use: something accepts connections on 127.0.0.1:PORT (a server bound
# to every interface included).
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
check_ports() {
	local entry var port seen="" hint
	for entry in "${demo_ports[@]}"; do
		var=${entry%%:*} port=${entry#*:}
		hint="set $var to a free port"
		[ "$var" = FERRY_DEMO_KANNEL_BASE ] && hint="set FERRY_DEMO_KANNEL_BASE so that BASE, BASE+1, BASE+2 and BASE+13 are free ports"
		case "$port" in
		'' | *[!0-9]*)
			echo "$var=$port is not a port number"
			return 1
			;;
		esac
		if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
			echo "$var=$port is not a port number (1 to 65535)"
			return 1
		fi
		case " $seen " in
		*" $port "*)
			echo "port $port is given to two of the demo's servers; $hint"
			return 1
			;;
		esac
		seen="$seen $port"
		if in_use "$port"; then
			echo "127.0.0.1:$port is already in use by another program; $hint"
			return 1
		fi
	done
}
check_ports || exit 1

newsecret() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
secret=$(newsecret)
irc_secret=$(newsecret)
sms_secret=$(newsecret)
# Hex only: these go into kannel.conf and URLs, which then need no escaping.
kannel_pass=$(newsecret)
kannel_admin_pass=$(newsecret)
hook_secret=$(newsecret)
mail_secret=$(newsecret)

packages=(prosody ngircd kannel kannel-extras)
if [ -n "$with_mail" ]; then
	# Postfix replaces another MTA (such as exim4) if one is installed.
	packages+=(dovecot-imapd postfix)
else
	echo "== not running as root: no Dovecot, Postfix or mail.localhost in this demo (run it as root for them)"
fi
./scripts/install-deps.sh "${packages[@]}"
# Debian installs ngIRCd and Kannel's boxes in /usr/sbin, which an ordinary
# user's PATH lacks, and fakesmsc (kannel-extras) in /usr/lib/kannel/test.
sbin_path="$PATH:/usr/sbin:/usr/local/sbin"
ngircd_bin=$(PATH="$sbin_path" command -v ngircd) || {
	echo "ngircd not found (install the ngircd package)"
	exit 1
}
bearerbox_bin=$(PATH="$sbin_path" command -v bearerbox) &&
	smsbox_bin=$(PATH="$sbin_path" command -v smsbox) || {
	echo "bearerbox/smsbox not found (install the kannel package)"
	exit 1
}
fakesmsc_bin=$(PATH="$PATH:/usr/lib/kannel/test:/usr/local/lib/kannel/test" command -v fakesmsc) || {
	echo "fakesmsc not found (install the kannel-extras package)"
	exit 1
}
if [ -n "$with_mail" ]; then
	dovecot_bin=$(PATH="$sbin_path" command -v dovecot) || {
		echo "dovecot not found (install the dovecot-imapd package)"
		exit 1
	}
	if ! postfix_bin=$(PATH="$sbin_path" command -v postfix) ||
		! postconf_bin=$(PATH="$sbin_path" command -v postconf); then
		echo "postfix/postconf not found (install the postfix package)"
		exit 1
	fi
	# Postfix's master process in the foreground, as testenv runs it.
	postfix_master="$("$postconf_bin" -h daemon_directory)/master"
	if ! id postfix >/dev/null 2>&1 || ! getent group postdrop >/dev/null; then
		echo "no postfix user or postdrop group (install the postfix package)"
		exit 1
	fi
fi
mkdir -p "$dir/prosody/data/localhost/accounts" "$dir/ngircd/conf.d" "$dir/kannel"
echo "== building ferry (demo build)"
go build -tags demo -o "$dir/ferry" ./cmd/ferry

cat >"$dir/prosody/prosody.cfg.lua" <<LUA
-- Generated by scripts/demo.sh: a throwaway Prosody on loopback.
run_as_root = true
pidfile = "$dir/prosody/prosody.pid"
data_path = "$dir/prosody/data"
log = { info = "$dir/prosody/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
component_interfaces = { "127.0.0.1" }
c2s_ports = { $c2s_port }
component_ports = { $comp_port }
s2s_ports = { }
http_ports = { }
https_ports = { }
c2s_direct_tls_ports = { }
legacy_ssl_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "offline", "carbons", "version", "uptime", "time" }
modules_disabled = { "s2s", "tls", "http", "limits" }
VirtualHost "localhost"
Component "echo.localhost"
  component_secret = "$secret"
Component "irc.localhost"
  component_secret = "$irc_secret"
Component "sms.localhost"
  component_secret = "$sms_secret"
LUA
if [ -n "$with_mail" ]; then
	cat >>"$dir/prosody/prosody.cfg.lua" <<LUA
Component "mail.localhost"
  component_secret = "$mail_secret"
LUA
fi
printf 'return { ["password"] = "demo"; };\n' >"$dir/prosody/data/localhost/accounts/demo.dat"

cat >"$dir/ferry.toml" <<TOML
# Generated by scripts/demo.sh
database = "ferry.db"
secrets_key_file = "ferry.key"
admins = ["demo@localhost"]

[xmpp]
address = "127.0.0.1:$comp_port"
server_domain = "localhost"

[http]
listen = "127.0.0.1:$http_port"

[[transport]]
kind = "echo"
domain = "echo.localhost"
secret = "$secret"
name = "Echo (demo)"

[[transport]]
kind = "irc"
domain = "irc.localhost"
secret = "$irc_secret"
name = "IRC (demo)"
# Ferry's default pacing (burst 10, then 1 line/s) suits ngIRCd's flood
# protection, which this demo keeps on as on a real network.
[[transport.options.network]]
name = "$irc_name"
address = "127.0.0.1:$irc_port"
tls = false

[[transport]]
kind = "sms"
domain = "sms.localhost"
secret = "$sms_secret"
name = "SMS (demo)"
[transport.options]
provider = "kannel"
listen = "127.0.0.1:$sms_hook_port"
region = "US"
[transport.options.kannel]
sendsms_url = "http://127.0.0.1:$kannel_sendsms_port/cgi-bin/sendsms"
username = "ferry"
password = "$kannel_pass"
secret = "$hook_secret"
TOML
if [ -n "$with_mail" ]; then
	cat >>"$dir/ferry.toml" <<TOML

[[transport]]
kind = "email"
domain = "mail.localhost"
secret = "$mail_secret"
name = "Mail (demo)"
# The demo's mail servers are on loopback and speak no TLS.
[transport.options]
allow_plain = true
allowed_private_hosts = ["127.0.0.1"]
listen = "127.0.0.1:$mail_link_port"
[transport.options.relay]
domain = "$relay_domain"
listen = "127.0.0.1:$mail_relay_port"
smarthost = "127.0.0.1:$smtp_port"
smarthost_security = "plain"
TOML
fi

# Kannel, as testenv runs it (internal/testenv/kannel.go): everything on
# loopback, a fake SMSC that acknowledges every text and reports it
# delivered at once, smsbox posting texts from phones to Ferry (the
# post-url is kannel.PostURL) and retrying when Ferry does not answer 2xx,
# and a catch-all service that never texts Ferry's answer back. Kannel
# runs as whoever starts it and logs to stdout (-v 1: info and up).
umask_was=$(umask)
umask 077 # the file holds passwords
cat >"$dir/kannel/kannel.conf" <<CONF
# Generated by scripts/demo.sh: a throwaway Kannel on loopback.
group = core
admin-port = $kannel_admin_port
admin-interface = 127.0.0.1
admin-password = "$kannel_admin_pass"
status-password = "$kannel_admin_pass"
admin-allow-ip = "127.0.0.1"
smsbox-port = $kannel_smsbox_port
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
box-deny-ip = "*.*.*.*"
dlr-storage = internal
access-log = "$dir/kannel/bearerbox-access.log"

group = smsc
smsc = fake
smsc-id = fake
port = $kannel_smsc_port
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $kannel_smsbox_port
sendsms-port = $kannel_sendsms_port
sendsms-interface = 127.0.0.1
mo-recode = true
http-request-retry = 5
http-queue-delay = 1
access-log = "$dir/kannel/smsbox-access.log"

group = sendsms-user
username = "ferry"
password = "$kannel_pass"
concatenation = true
max-messages = 10

group = sms-service
keyword = default
catch-all = true
max-messages = 0
post-url = "http://127.0.0.1:$sms_hook_port/sms/kannel/mo?secret=$hook_secret&from=%p&to=%P&id=%I&ts=%T"
CONF
umask "$umask_was"
# The phone network's input: fakesmsc reads texts from phones, one line
# each, from this FIFO, which the script holds open (fd 7) so that fakesmsc
# never sees the end of its input while a person's "echo >" comes and goes.
phone_in="$dir/kannel/phone.in"
phone_log="$dir/kannel/phone.log"
rm -f "$phone_in"
mkfifo -m 600 "$phone_in"

# ngIRCd, as testenv runs it (internal/testenv/ngircd.go). Started as root
# it switches to "nobody" after reading this file, so it writes nothing
# here afterwards: no PID file (the script knows the process), and it logs
# to stdout (--nodaemon). The empty conf.d keeps the system's
# /etc/ngircd/ngircd.conf.d out. Flood protection stays on.
cat >"$dir/ngircd/ngircd.conf" <<CONF
# Generated by scripts/demo.sh: a throwaway ngIRCd on loopback.
[Global]
	Name = $irc_name
	Info = Ferry demo
	AdminInfo1 = Ferry demo
	AdminInfo2 = scripts/demo.sh
	AdminEMail = demo@$irc_name
	Listen = 127.0.0.1
	Ports = $irc_port
	PidFile =
	MotdFile =
	MotdPhrase = Ferry demo IRC server $irc_name
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 30
	PingTimeout = 120
	PongTimeout = 20
[Options]
	DNS = no
	Ident = no
	PAM = no
	IncludeDir = $dir/ngircd/conf.d
CONF
ngircd_cmd=("$ngircd_bin" --nodaemon --config "$dir/ngircd/ngircd.conf")

# Dovecot, as testenv runs it (internal/testenv/dovecot.go): IMAP on
# loopback without TLS, plain text logins, users and passwords from a
# passwd-file, maildirs in demo/mail/<user> kept as nobody, and an auth
# socket for Postfix's submission smtpd (which runs as user postfix, hence
# mode 0666). Nothing of /etc/dovecot is read.
write_dovecot() {
	mkdir -p "$dir/dovecot/run" "$dir/mail"
	chown "$mail_uid:$mail_gid" "$dir/mail"
	cat >"$dir/dovecot/passwd" <<PASSWD
demo@$mail_domain:{PLAIN}demo
friend@$remote_domain:{PLAIN}friend
PASSWD
	cat >"$dir/dovecot/dovecot.conf" <<CONF
# Generated by scripts/demo.sh: a throwaway Dovecot on loopback.
protocols = imap
listen = 127.0.0.1
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/run
log_path = $dir/dovecot/dovecot.log
info_log_path = $dir/dovecot/dovecot.log
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
mail_uid = $mail_uid
mail_gid = $mail_gid
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:$dir/mail/%u
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/dovecot/passwd
}
userdb {
  driver = static
  args = uid=$mail_uid gid=$mail_gid home=$dir/mail/%u
}
CONF
}

# Postfix, as testenv runs it (internal/testenv/postfix.go): a private
# instance in demo/postfix (main.cf, master.cf, queue, data, postfix.log),
# nothing of the system's instance used or touched. No chroot, no local
# delivery, no DNS, no TLS. mail.demo.test and remote.demo.test are
# delivered into Dovecot's maildirs, relay.demo.test goes to Ferry's relay
# server. The smtpd on $smtp_port takes mail for those domains from
# anyone on loopback (and nothing else: no open relay); the one on
# $submission_port wants AUTH (Dovecot's users), then sends to the same
# domains only.
pf="$dir/postfix"
write_postfix() {
	local d
	mkdir -p "$pf/queue" "$pf/data"
	chown postfix "$pf/data"
	# The queue's directories, with the owners and modes of postfix-files.
	for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		mkdir -p "$pf/queue/$d"
		chown postfix:root "$pf/queue/$d"
		chmod 700 "$pf/queue/$d"
	done
	for d in maildrop:730 public:710; do
		mkdir -p "$pf/queue/${d%:*}"
		chown postfix:postdrop "$pf/queue/${d%:*}"
		chmod "${d#*:}" "$pf/queue/${d%:*}"
	done
	mkdir -p "$pf/queue/pid"
	chown root:root "$pf/queue/pid"
	chmod 755 "$pf/queue/pid"
	cp "$("$postconf_bin" -h config_directory)/master.cf" "$pf/master.cf"
	cat >"$pf/main.cf" <<CONF
# Generated by scripts/demo.sh: a throwaway Postfix on loopback.
compatibility_level = 3.6
myhostname = mx.demo.test
mydomain = demo.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_transport = error:no local delivery in this demo
queue_directory = $pf/queue
data_directory = $pf/data
maillog_file_prefixes = $pf
maillog_file = $pf/postfix.log
smtpd_banner = \$myhostname ESMTP Ferry demo
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
biff = no
# A demo retries soon, and gives up soon, rather than over days.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
bounce_queue_lifetime = 0
smtp_connect_timeout = 5s
service_throttle_time = 1s
relay_domains = $relay_domain
transport_maps = inline:{ $relay_domain=smtp:[127.0.0.1]:$mail_relay_port }
virtual_mailbox_domains = $mail_domain $remote_domain
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = inline:{ demo@$mail_domain=demo@$mail_domain/, friend@$remote_domain=friend@$remote_domain/ }
virtual_minimum_uid = 1
virtual_uid_maps = static:$mail_uid
virtual_gid_maps = static:$mail_gid
CONF
	# No chroot (the jail would need copies of /etc files), no smtpd on
	# port 25, and the demo's two smtpds instead.
	"$postconf_bin" -c "$pf" -F '*/*/chroot=n'
	"$postconf_bin" -c "$pf" -MX smtp/inet
	"$postconf_bin" -c "$pf" -M "127.0.0.1:$smtp_port/inet=127.0.0.1:$smtp_port inet n - n - - smtpd"
	# Submission: no TLS, AUTH PLAIN/LOGIN checked by Dovecot, and only
	# authenticated clients may send (from 127.0.0.1 too).
	"$postconf_bin" -c "$pf" -M "127.0.0.1:$submission_port/inet=127.0.0.1:$submission_port inet n - n - - smtpd \
-o syslog_name=postfix/submission \
-o smtpd_tls_security_level=none \
-o smtpd_sasl_auth_enable=yes \
-o smtpd_sasl_type=dovecot \
-o smtpd_sasl_path=$dir/dovecot/run/auth-postfix \
-o smtpd_sasl_security_options=noanonymous \
-o smtpd_sasl_authenticated_header=yes \
-o smtpd_client_restrictions=permit_sasl_authenticated,reject \
-o smtpd_relay_restrictions=permit_sasl_authenticated,reject \
-o smtpd_recipient_restrictions=reject_unauth_destination"
	# Postfix waits for a configuration file changed in the last two
	# seconds to settle; these are complete.
	touch -d '1 minute ago' "$pf/main.cf" "$pf/master.cf"
}
if [ -n "$with_mail" ]; then
	write_dovecot
	write_postfix
fi

# Children run in their own sessions so Ctrl-C reaches only this script,
# which then stops them in order: Ferry first (it says goodbye to users
# over the still-running Prosody and closes its IRC and mail connections),
# then Postfix and Dovecot, then fakesmsc and Kannel, then ngIRCd, then
# Prosody.
prosody_pid=""
dovecot_pid=""
postfix_pid=""
ngircd_pid=""
bearerbox_pid=""
smsbox_pid=""
fakesmsc_pid=""
ferry_pid=""
stop_pid() { # pid signal seconds
	[ -n "$1" ] || return 0
	kill "-$2" "$1" 2>/dev/null || return 0
	for _ in $(seq 1 $(($3 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
}
# The ngIRCd processes running this demo's configuration: the one started
# here, and one restarted by hand with the printed command (which the
# script cannot otherwise know, as there is no PID file).
demo_ngircds() {
	local want p
	want=$(printf '%s\001' "${ngircd_cmd[@]}")
	for p in /proc/[0-9]*; do
		[ "$(tr '\000' '\001' 2>/dev/null <"$p/cmdline")" = "$want" ] && echo "${p#/proc/}"
	done
	return 0
}
# One request to bearerbox's admin interface (bash's /dev/tcp: no curl
# needed); prints the answer, headers and all.
kannel_admin() { # path
	(exec 3<>"/dev/tcp/127.0.0.1/$kannel_admin_port" &&
		printf 'GET %s?password=%s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" "$kannel_admin_pass" >&3 &&
		timeout 2 cat <&3) 2>/dev/null
}
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_kannel() {
	# The phone network first: fakesmsc ends at the end of its input, so
	# close the FIFO. (Ended by bearerbox closing its connection instead,
	# fakesmsc 1.4.5 aborts with "free(): double free detected".)
	exec 7>&-
	stop_pid "$fakesmsc_pid" TERM 2
	# Without a reader, a later "echo > phone.in" would hang.
	rm -f "$phone_in"
	# bearerbox's shutdown stops smsbox too; it takes a second or two.
	if alive "$bearerbox_pid"; then
		kannel_admin /shutdown >/dev/null || kill -TERM "$bearerbox_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			alive "$bearerbox_pid" || alive "$smsbox_pid" || break
			sleep 0.1
		done
	fi
	stop_pid "$bearerbox_pid" TERM 5
	stop_pid "$smsbox_pid" TERM 5
}
stop_postfix() {
	# "postfix stop" signals the master process by its PID file and waits
	# for it; its children exit with it.
	if alive "$postfix_pid"; then
		"$postfix_bin" -c "$pf" stop >>"$pf/console.log" 2>&1 || true
	fi
	stop_pid "$postfix_pid" TERM 10
}
cleanup() {
	trap - INT TERM HUP EXIT
	# A terminal that went away must not end the cleanup half-way.
	trap '' PIPE
	stop_pid "$ferry_pid" TERM 15
	stop_postfix
	# Dovecot's master stops its login, auth and imap processes.
	stop_pid "$dovecot_pid" TERM 10
	stop_kannel
	local p
	for p in $ngircd_pid $(demo_ngircds); do
		stop_pid "$p" TERM 5
	done
	stop_pid "$prosody_pid" TERM 10
	echo "demo stopped"
}
trap cleanup INT TERM HUP EXIT

setsid prosody --config "$dir/prosody/prosody.cfg.lua" -F >"$dir/prosody/stdout.log" 2>&1 &
prosody_pid=$!
ready=""
for _ in $(seq 1 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$c2s_port") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$comp_port") 2>/dev/null; then
		ready=1
		break
	fi
	kill -0 "$prosody_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$ready" ]; then
	echo "prosody failed to start:"
	tail -20 "$dir/prosody/stdout.log" "$dir/prosody/prosody.log"
	exit 1
fi

: >"$dir/ngircd/ngircd.log"
setsid "${ngircd_cmd[@]}" >>"$dir/ngircd/ngircd.log" 2>&1 &
ngircd_pid=$!
ready=""
for _ in $(seq 1 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$irc_port") 2>/dev/null; then
		ready=1
		break
	fi
	kill -0 "$ngircd_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$ready" ]; then
	echo "ngircd failed to start:"
	tail -20 "$dir/ngircd/ngircd.log"
	exit 1
fi

exec 7<>"$phone_in"
: >"$dir/kannel/bearerbox.log"
: >"$dir/kannel/smsbox.log"
# bearerbox first: an smsbox started with it fails to connect and retries
# only after seconds, and fakesmsc gives up at once.
# Kannel's processes run in demo/kannel, where any core file of theirs lands.
(cd "$dir/kannel" && exec setsid "$bearerbox_bin" -v 1 "$dir/kannel/kannel.conf" >>"$dir/kannel/bearerbox.log" 2>&1 7>&-) &
bearerbox_pid=$!
# Ready when status.txt says running and the test given (a command, run
# with status.txt as its argument) passes.
kannel_ready() { # test-command
	local s
	s=$(kannel_admin /status.txt) || return 1
	case "$s" in *"Status: running"*) ;; *) return 1 ;; esac
	"$@" "$s"
}
bearerbox_up() { (exec 3<>"/dev/tcp/127.0.0.1/$kannel_smsbox_port") 2>/dev/null; }
smsbox_up() {
	# "(online" is the fake SMSC with fakesmsc connected; the box list
	# says "on-line".
	case "$1" in *"smsbox:"*"(online"* | *"(online"*"smsbox:"*) ;; *) return 1 ;; esac
	(exec 3<>"/dev/tcp/127.0.0.1/$kannel_sendsms_port") 2>/dev/null
}
kannel_failed() {
	echo "kannel failed to start:"
	tail -20 "$dir/kannel/bearerbox.log" "$dir/kannel/smsbox.log" "$phone_log"
	exit 1
}
ready=""
for _ in $(seq 1 200); do
	if kannel_ready bearerbox_up; then
		ready=1
		break
	fi
	alive "$bearerbox_pid" || break
	sleep 0.1
done
[ -n "$ready" ] || kannel_failed
(cd "$dir/kannel" && exec setsid "$smsbox_bin" -v 1 "$dir/kannel/kannel.conf" >>"$dir/kannel/smsbox.log" 2>&1 7>&-) &
smsbox_pid=$!
# No texts on the command line: fakesmsc reads them from its input, one a
# line. -i 0: no pause after each (1s by default).
echo "== phone network (fakesmsc) started $(date '+%F %T')" >>"$phone_log"
(cd "$dir/kannel" && exec setsid "$fakesmsc_bin" -H 127.0.0.1 -r "$kannel_smsc_port" -i 0 <"$phone_in" >>"$phone_log" 2>&1 7>&-) &
fakesmsc_pid=$!
ready=""
for _ in $(seq 1 200); do
	if kannel_ready smsbox_up; then
		ready=1
		break
	fi
	alive "$bearerbox_pid" && alive "$smsbox_pid" && alive "$fakesmsc_pid" || break
	sleep 0.1
done
[ -n "$ready" ] || kannel_failed

# One line from a server that greets first (IMAP "* OK", SMTP "220"),
# which it sends once it can serve: Dovecot's login process greets when its
# auth server answers, Postfix's smtpd once it has started (the submission
# one dies first if Dovecot's auth socket is missing). The pattern is
# matched against that line.
greets() { # port pattern
	(exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		timeout 2 head -n1 <&3 | grep -q "$2") 2>/dev/null
}
if [ -n "$with_mail" ]; then
	: >>"$dir/dovecot/dovecot.log"
	# -F: the master process stays in the foreground, so the script
	# knows it; Dovecot's processes run in demo/dovecot.
	(cd "$dir/dovecot" && exec setsid "$dovecot_bin" -F -c "$dir/dovecot/dovecot.conf" >>"$dir/dovecot/console.log" 2>&1 7>&-) &
	dovecot_pid=$!
	ready=""
	for _ in $(seq 1 100); do
		if greets "$imap_port" '^\* OK'; then
			ready=1
			break
		fi
		alive "$dovecot_pid" || break
		sleep 0.1
	done
	if [ -z "$ready" ]; then
		echo "dovecot failed to start:"
		tail -20 "$dir/dovecot/console.log" "$dir/dovecot/dovecot.log"
		exit 1
	fi
	# The master process in the foreground (-d) rather than "postfix
	# start", which detaches it: so the script knows it, as the others.
	: >>"$pf/postfix.log"
	(cd "$pf" && MAIL_CONFIG="$pf" exec setsid "$postfix_master" -c "$pf" -d >>"$pf/console.log" 2>&1 7>&-) &
	postfix_pid=$!
	ready=""
	for _ in $(seq 1 100); do
		if greets "$smtp_port" '^220 ' && greets "$submission_port" '^220 '; then
			ready=1
			break
		fi
		alive "$postfix_pid" || break
		sleep 0.1
	done
	if [ -z "$ready" ]; then
		echo "postfix failed to start:"
		tail -20 "$pf/console.log" "$pf/postfix.log"
		exit 1
	fi
fi

(cd "$dir" && exec setsid "$dir/ferry" run -config "$dir/ferry.toml" 7>&-) &
ferry_pid=$!
# Ready when /healthz says the component link is up (bash's /dev/tcp: no curl needed).
healthy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$http_port" &&
		printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 &&
		head -n1 <&3 | grep -q ' 200 ') 2>/dev/null
}
ready=""
for _ in $(seq 1 100); do
	# …and the SMS transport's webhooks, and the mail transport's
	# attachment links and relay server, accept (Ferry logs, and stays
	# healthy, when it cannot listen there).
	if healthy && (exec 3<>"/dev/tcp/127.0.0.1/$sms_hook_port") 2>/dev/null &&
		{ [ -z "$with_mail" ] || { (exec 3<>"/dev/tcp/127.0.0.1/$mail_link_port") 2>/dev/null &&
			greets "$mail_relay_port" '^220 '; }; }; then
		ready=1
		break
	fi
	kill -0 "$ferry_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$ready" ]; then
	echo "ferry did not come up; see the log above"
	exit 1
fi

transports="irc.localhost, sms.localhost and echo.localhost"
stop_order="Ferry, then the phone network and Kannel, then ngIRCd, then Prosody"
if [ -n "$with_mail" ]; then
	transports="irc.localhost, sms.localhost, mail.localhost and echo.localhost"
	stop_order="Ferry, then Postfix and Dovecot, then the phone network and Kannel, then ngIRCd, then Prosody"
	q_friend_new=$(printf '%q' "$dir/mail/friend@$remote_domain/new/")
	mail_msg=$(
		cat <<MSG
Mail: Dovecot (IMAP) is on 127.0.0.1:$imap_port; Postfix takes mail for $mail_domain, $remote_domain
and $relay_domain on 127.0.0.1:$smtp_port (SMTP, no AUTH) and on 127.0.0.1:$submission_port
(submission, AUTH as a Dovecot user); no TLS. Mailboxes (login / password):
demo@$mail_domain / demo and friend@$remote_domain / friend, as maildirs in $dir/mail.
Send "register" to mail.localhost and answer each question (Ferry logs in to both servers
before it takes the registration):
  email address demo@$mail_domain, password demo, then "-" for your name and login name,
  IMAP server 127.0.0.1, IMAP port $imap_port, IMAP security plain,
  SMTP submission server 127.0.0.1, SMTP port $submission_port, SMTP security plain.
Mail demo as friend, and it comes as a chat from friend\40$remote_domain@mail.localhost:
  printf 'From: Friend <friend@$remote_domain>\r\nTo: demo@$mail_domain\r\nSubject: Hello from mail\r\n\r\nHi, how are you?\r\n' |
    curl -sS --url smtp://127.0.0.1:$smtp_port --mail-from friend@$remote_domain --mail-rcpt demo@$mail_domain -T -
Answer in that chat (profanity: /msg friend\40$remote_domain@mail.localhost Thanks, got it); the mail
goes out through the submission port, and friend's mailbox is
  ls $q_friend_new
Relay addresses: send "alias add alerts" to mail.localhost ("-" to take mail from anyone);
it answers with an address such as alerts.x7k2q9@$relay_domain, which Postfix routes to
Ferry (127.0.0.1:$mail_relay_port). Mail it, and it comes as a chat too:
  printf 'From: Monitor <monitor@$remote_domain>\r\nSubject: Disk almost full\r\n\r\n/ is at 97 percent.\r\n' |
    curl -sS --url smtp://127.0.0.1:$smtp_port --mail-from monitor@$remote_domain --mail-rcpt ADDRESS -T -
Logs: $dir/dovecot/dovecot.log and $dir/postfix/postfix.log.
MSG
	)
else
	mail_msg="Mail: not in this demo, as Dovecot and Postfix need root (run make demo as root)."
fi

cat <<MSG

Prosody is on 127.0.0.1:$c2s_port (no TLS) with the account demo@localhost / demo.
ngIRCd "$irc_name" is on 127.0.0.1:$irc_port (no TLS, flood protection on).
Kannel: sendsms on 127.0.0.1:$kannel_sendsms_port, admin on 127.0.0.1:$kannel_admin_port
(status: http://127.0.0.1:$kannel_admin_port/status.txt?password=$kannel_admin_pass), logs in $dir/kannel.
Ferry serves the transports $transports
(health: http://127.0.0.1:$http_port/healthz; Kannel calls it back on 127.0.0.1:$sms_hook_port).

Log in with any client, e.g. profanity:
  /connect demo@localhost server 127.0.0.1 port $c2s_port tls disable

IRC: register with irc.localhost: in Gajim, discover it and press Register; in any
client, send "register" to irc.localhost and answer (nickname, e.g. demouser; server:
$irc_name; "-" skips the optional fields). Then:
  join the room    #demo%$irc_name@irc.localhost
                   (profanity: /join #demo%$irc_name@irc.localhost nick demouser)
  chat with        somenick%$irc_name@irc.localhost   (an IRC user's nick)
From the IRC side, connect any IRC client to 127.0.0.1:$irc_port and join #demo:
  irssi -c 127.0.0.1 -p $irc_port -n ircbob      then /join #demo
  or by hand: nc 127.0.0.1 $irc_port, then type
    NICK ircbob
    USER ircbob 0 * :Bob
    JOIN #demo
    PRIVMSG #demo :hello from IRC
    PRIVMSG demouser :hi in private
  (answer the server's PING :x with PONG :x to stay connected).
To see Ferry reconnect and rejoin, stop ngIRCd (kill $ngircd_pid) and start it again:
  setsid $(printf '%q ' "${ngircd_cmd[@]}")>>$(printf '%q' "$dir/ngircd/ngircd.log") 2>&1 &

SMS: send "register" to sms.localhost and give your phone number, e.g. (201) 555-0123
(region US; "-" keeps it). Then text a phone by chatting with its number:
  +12015550199@sms.localhost        (profanity: /msg +12015550199@sms.localhost hello phone)
The phone network is fakesmsc. Read what phones got (from, to, then the text;
"ucs-2" texts, e.g. with emoji, are URL-encoded UTF-16, long ones come in "udh" parts):
  tail -f $(printf '%q' "$phone_log")
Text from a phone (FROM TO text TEXT; one line of at most 254 bytes, as fakesmsc
holds back a longer line until the next one comes):
  echo "+12015550199 +12015550123 text hi back" > $(printf '%q' "$phone_in")

$mail_msg

Echo: send "help" or "register" to echo.localhost, then chat with anyone@echo.localhost
and the echo network answers.

Accept a transport's contact request (and add it back, e.g. profanity: /sub allow,
/sub request irc.localhost) to see its status.

State is kept in $dir (rm -rf it to start fresh).
Ctrl-C stops $stop_order.
MSG

wait "$ferry_pid"

# ports.sh: random_port, the one port picker of the integration tests
# (tests/lib.sh) and the benchmarks (bench/lib.sh); POSIX sh, sourced, no
# side effects.

# random_port: prints a TCP port nobody listens on, below the kernel's
# ephemeral range (ip_local_port_range), so that no outgoing connection
# and no port bound as "auto" (otad's) can take it before the server that
# asked binds it, nor can a client's connect to it meet itself.  Best
# effort still: another server may bind it meanwhile.  Only for servers
# that cannot bind port 0 and say which port they got; otad can.
random_port() {
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${lo:-0}" -gt 11024 ] || lo=32768
	while :; do
		p=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		p=$((10000 + p % (lo - 10000)))
		if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return
		fi
	done
}

#!/bin/sh
# table.sh - the campaign table (markdown) from build/campaign/runs.txt:
# per target the summed CPU time and execs over its runs, execs per CPU
# second, the last run's cov/ft, and crashes.
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-${FUZZ_BUILD:-$here/build}/campaign/runs.txt}
echo "| target | CPU time | execs | execs/CPU-s | cov | ft | crashes |"
echo "|---|---|---|---|---|---|---|"
awk '{
	t = $1
	for (i = 2; i <= NF; i++) {
		if ($i ~ /^cpu_s=/) { sub(/cpu_s=/, "", $i); cpu[t] += $i }
		else if ($i ~ /^execs=/) { sub(/execs=/, "", $i); ex[t] += $i }
		else if ($i ~ /^crashes=/) { sub(/crashes=/, "", $i); cr[t] = $i }
		else if ($i == "cov:") cov[t] = $(i + 1)
		else if ($i == "ft:") ft[t] = $(i + 1)
	}
	if (!(t in seen)) { seen[t] = 1; order[n++] = t }
}
END {
	for (k = 0; k < n; k++) {
		t = order[k]
		printf "| %s | %d min %02d s | %d | %d | %s | %s | %s |\n", t, cpu[t] / 60, cpu[t] % 60,
		       ex[t], cpu[t] ? ex[t] / cpu[t] : 0, cov[t], ft[t], cr[t]
		total += cpu[t]
	}
	printf "\nTotal CPU: %d min %02d s\n", total / 60, total % 60
}' "$runs"

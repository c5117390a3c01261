#!/usr/bin/env bash
# The UMEM goes on huge pages when the system has them.  With 2 MiB pages
# reserved (vm.nr_hugepages raised for the test and put back on every exit
# path), the ports' status says umem-huge-pages=hugetlb and the reserved
# pages are in use: the 32 MiB of chunks and the metadata slots, 16 + 3
# pages; traffic flows; once the ports are gone, so is the UMEM, and every
# page is free again.  Without reserved pages the status says thp or none
# (umem_shared.sh sees that case), never an error.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

NR=/proc/sys/vm/nr_hugepages
PAGES=24
UMEM_PAGES=16  # 32 MiB of chunks; the metadata adds a few more.

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

old=$(<"$NR")
on_exit "echo $old >$NR"
echo $((old + PAGES)) >"$NR"
total=$(meminfo HugePages_Total)
((total >= old + UMEM_PAGES + 4)) ||
    fail "could not reserve huge pages: HugePages_Total $total after asking" \
        "for $((old + PAGES))"
free0=$(meminfo HugePages_Free)

sys_setup
check_ping_all
for p in "$P0" "$P1"; do
    pages=$(iface_status "$p" umem-huge-pages)
    [[ $pages == hugetlb ]] ||
        fail "$p: umem-huge-pages=$pages with $free0 huge pages free"
done
used=$((free0 - $(meminfo HugePages_Free)))
log "UMEM on hugetlb pages: $used of $free0 free 2 MiB pages in use"
((used >= UMEM_PAGES && used <= UMEM_PAGES + 8)) ||
    fail "$used huge pages in use, expected $UMEM_PAGES to $((UMEM_PAGES + 8))"
nsx 0 ping -q -c 1000 -i 0 -W 2 "$IP4_1" >/dev/null || fail "flood ping lost"
check_umem "$P0"

# Without ports there are no PMD threads (their caches go with them) and
# the UMEM goes, pages and all.
vsctl del-port "$BR" "$P0" -- del-port "$BR" "$P1"
pages_back() { (($(meminfo HugePages_Free) == free0)); }
wait_until 20 pages_back ||
    fail "huge pages still in use after the ports were removed:" \
        "$(meminfo HugePages_Free) free, $free0 before"
log "all $free0 huge pages free again after removing the ports"
sys_finish

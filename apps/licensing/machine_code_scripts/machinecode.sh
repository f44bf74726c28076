#!/bin/sh
# machinecode.sh - prints this computer's machine code for bulk activation.
#
# Output: exactly one line, "<machine code><TAB><host name>" (the host name is `uname -n`,
# the same as Python's socket.gethostname()). Errors go to stderr with exit status 1.
#
# The machine code equals what the official clients compute on this computer:
#   Linux  : Python  licensing.methods.Helpers.GetMachineCode()   (cryptolens-python, v=1)
#            SHA-256 (UTF-8, lower-case hex) of the contents of /etc/machine-id (else
#            /var/lib/dbus/machine-id), whitespace-stripped, followed by the decimal inode
#            numbers of /bin /etc /lib /root /sbin /usr /var (symlinks followed, missing ones
#            skipped), all concatenated without separators.
#   macOS  : Python  Helpers.GetMachineCode()
#            SHA-256 of the output of `system_profiler SPHardwareDataType` from the first
#            "UUID" to the end, whitespace-stripped.
#   Raspberry Pi (/proc/device-tree/model contains "Raspberry Pi"):
#            .NET    Helpers.GetMachineCodePI(v: 2) on Linux
#            "RPI_" + SHA-256 of the 16-character Serial from /proc/cpuinfo.
#            Set MACHINE_CODE_RPI=0 to get the Python client's value (the Linux rule) instead.
#
# Usage: sh machinecode.sh >> codes.txt
# MACHINE_CODE_ROOT (default empty = /) prefixes every file path read; it exists for tests.

set -u
set -f
# Bytes, not characters: the same result whatever the user's locale.
LC_ALL=C
export LC_ALL

root=${MACHINE_CODE_ROOT:-}

fail() {
    printf 'machinecode.sh: %s\n' "$1" >&2
    exit 1
}

if command -v sha256sum >/dev/null 2>&1; then
    hasher=sha256sum
elif command -v shasum >/dev/null 2>&1; then
    hasher=shasum
elif command -v openssl >/dev/null 2>&1; then
    hasher=openssl
else
    fail "needs sha256sum, shasum or openssl"
fi

# stdin -> hex SHA-256 of its bytes.
sha256_hex() {
    case $hasher in
        sha256sum) sha256sum | cut -d ' ' -f 1 ;;
        shasum) shasum -a 256 | cut -d ' ' -f 1 ;;
        # "SHA2-256(stdin)= <hex>" or "(stdin)= <hex>", depending on the version.
        openssl) openssl dgst -sha256 | sed 's/^.*= *//' ;;
    esac
}

hash_text() {
    digest=$(printf '%s' "$1" | sha256_hex | tr 'ABCDEF' 'abcdef')
    case $digest in
        ????????????????????????????????????????????????????????????????) ;;
        *) fail "could not compute a SHA-256 digest" ;;
    esac
    printf '%s' "$digest"
}

# Python's str.strip(): whitespace off both ends. $(...) has already dropped trailing newlines.
strip() {
    s=$1
    while :; do
        case $s in
            [[:space:]]*) s=${s#?} ;;
            *) break ;;
        esac
    done
    while :; do
        case $s in
            *[[:space:]]) s=${s%?} ;;
            *) break ;;
        esac
    done
    printf '%s' "$s"
}

# Python's get_dbus_machine_id(): the first file that opens wins, even if it is empty.
machine_id() {
    for file in "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"; do
        if [ -f "$file" ] && [ -r "$file" ]; then
            strip "$(cat "$file")"
            return
        fi
    done
}

# Python's get_inodes(): os.stat follows symlinks (/bin -> usr/bin on merged-/usr systems).
inodes() {
    for dir in bin etc lib root sbin usr var; do
        listing=$(ls -diL "$root/$dir" 2>/dev/null) || continue
        set -- $listing
        case ${1:-} in
            '' | *[!0-9]*) ;;
            *) printf '%s' "$1" ;;
        esac
    done
}

linux_code() {
    seed="$(machine_id)$(inodes)"
    [ -n "$seed" ] || fail "no machine-id and no inode numbers: cannot compute a machine code"
    hash_text "$seed"
}

macos_code() {
    profile=$(system_profiler SPHardwareDataType) || fail "system_profiler failed"
    case $profile in
        *UUID*) ;;
        *) fail "system_profiler printed no UUID" ;;
    esac
    seed=$(strip "UUID${profile#*UUID}")
    hash_text "$seed"
}

is_raspberry_pi() {
    model="$root/proc/device-tree/model"
    [ -r "$model" ] && tr -d '\000' < "$model" | grep -qi 'raspberry pi'
}

raspberry_pi_code() {
    serial=$(sed -n 's/^Serial[[:space:]]*:[[:space:]]*//p' "$root/proc/cpuinfo" 2>/dev/null \
        | head -n 1 | cut -c 1-16)
    serial=$(strip "$serial")
    [ -n "$serial" ] || return 1
    digest=$(hash_text "$serial") || exit 1
    printf 'RPI_%s' "$digest"
}

name=$(uname -n) || fail "uname -n failed"
if [ "$(uname -s)" = Darwin ]; then
    code=$(macos_code) || exit 1
elif [ "${MACHINE_CODE_RPI:-1}" != 0 ] && is_raspberry_pi; then
    if ! code=$(raspberry_pi_code); then
        printf 'machinecode.sh: %s\n' \
            "Raspberry Pi without a Serial in /proc/cpuinfo; using the Linux rule" >&2
        code=$(linux_code) || exit 1
    fi
else
    code=$(linux_code) || exit 1
fi
printf '%s\t%s\n' "$code" "$name"

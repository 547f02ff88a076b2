#!/bin/sh
# Times unpacking the CIFAR-10 .tar.gz with two checkouts of this package, alternating A B A B ...
#
#   scripts/time_extraction.sh CHECKOUT_A CHECKOUT_B ARCHIVE [ROUNDS]
#
# For each checkout it builds (release, nice -n 19) a tiny harness package that depends on the
# checkout by path and calls the public `Dataset.locate(_:dataFlag:environment:cacheFolder:allowDownload:)`
# (checkouts from before data sets, commit 5ce40b0, had `CIFAR10.locate(dataFlag:…)`: edit the harness for them)
# on ARCHIVE with a fresh, empty cache folder: exactly the extraction (mmap, gunzip, untar, write the
# six batch files, check their sizes) and nothing else. Prints one line per run and the medians.
set -eu
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); ARCHIVE=$3; ROUNDS=${4:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for side in A B; do
    eval checkout=\$$side
    mkdir -p "$WORK/$side/Sources/time-extraction"
    cat > "$WORK/$side/Package.swift" <<SWIFT
// swift-tools-version: 6.0
import PackageDescription
let package = Package(
    name: "time-extraction",
    dependencies: [.package(name: "Airbench", path: "$checkout")],
    targets: [.executableTarget(name: "time-extraction", dependencies: [.product(name: "Airbench", package: "Airbench")])]
)
SWIFT
    cat > "$WORK/$side/Sources/time-extraction/main.swift" <<'SWIFT'
import AirbenchData
import Foundation

let archive = CommandLine.arguments[1]
let cache = URL(fileURLWithPath: CommandLine.arguments[2])
let start = DispatchTime.now().uptimeNanoseconds
let folder = try Dataset.locate(DatasetSelection(.cifar10), dataFlag: archive, environment: [:], cacheFolder: cache,
                                allowDownload: false)
let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
print(String(format: "%.3f", seconds), folder.path)
SWIFT
    (cd "$WORK/$side" && nice -n 19 swift build -c release >/dev/null)
done

cat "$ARCHIVE" > /dev/null  # the archive in the page cache for every run alike
: > "$WORK/times"
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for side in A B; do
        cache=$(mktemp -d)
        seconds=$(nice -n 19 "$WORK/$side/.build/release/time-extraction" "$ARCHIVE" "$cache" | cut -d' ' -f1)
        rm -rf "$cache"
        echo "round $round $side $seconds"
        echo "$side $seconds" >> "$WORK/times"
    done
    round=$((round + 1))
done
for side in A B; do
    median=$(grep "^$side " "$WORK/times" | cut -d' ' -f2 | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    echo "median $side ($( [ $side = A ] && echo "$A" || echo "$B" )): $median s"
done

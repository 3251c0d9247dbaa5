#!/usr/bin/env bash
# Apache Kafka (broker, controller, storage tool) and its runtime jars from Maven Central into
# .cache/kafka/<version>/, for the tests' real-Kafka fixtures. Idempotent: a complete cache is left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
dest=".cache/kafka/${KAFKA_VERSION}"
if [ -f "$dest/.complete" ]; then
  exit 0
fi
command -v java >/dev/null || { echo "fetch.sh: java (17 or newer) is needed to run Kafka" >&2; exit 1; }
command -v mvn >/dev/null || { echo "fetch.sh: mvn is needed to fetch Kafka from Maven Central" >&2; exit 1; }

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
if ! mvn -q -B -Dstyle.color=never -f tests/kafka/pom.xml -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PWD/$dest.tmp" >"$dest.log" 2>&1; then
  cat "$dest.log" >&2
  exit 1
fi
rm -f "$dest.log"
ls "$dest.tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.complete"
echo "Kafka $KAFKA_VERSION in $dest ($(ls "$dest" | wc -l) jars)"

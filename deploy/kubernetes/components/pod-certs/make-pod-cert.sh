#!/bin/sh
# Makes this pod's TLS certificate: a fresh P-256 key, and a certificate signed by the Strand
# CA that names the pod's IP (drivers and runners dial runners at their pod IP and check the
# certificate against it) plus any DNS names in CERT_DNS_NAMES (the head's Service names).
# Both uses, server and client: runners dial each other, and mutual TLS wants a client cert.
#   make-pod-cert.sh <ca dir: ca.crt, ca.key> <out dir: gets tls.crt, tls.key, ca.crt>
# Needs POD_IP; optional: CERT_DNS_NAMES (comma-separated), CERT_DAYS (default 365).
set -eu
ca="$1"
out="$2"
: "${POD_IP:?POD_IP is not set (the downward API gives it: status.podIP)}"
san="IP:${POD_IP}"
for name in $(printf '%s' "${CERT_DNS_NAMES:-}" | tr ',' ' '); do
  san="${san},DNS:${name}"
done
umask 077
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$out/tls.key" -out "$out/tls.csr" -subj "/CN=${POD_NAME:-strand}"
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$out/tls.ext"
openssl x509 -req -in "$out/tls.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -days "${CERT_DAYS:-365}" \
  -extfile "$out/tls.ext" -out "$out/tls.crt"
cp "$ca/ca.crt" "$out/ca.crt"
rm -f "$out/tls.csr" "$out/tls.ext"
echo "pod certificate for ${san}"

// A member client of the Jembatan hub in Node, built from docs/contract.md and the .proto
// files alone: over mTLS it makes a consented query, verifies the receipt with the hub's log
// key and the exchange's inclusion in a signed checkpoint, then asks for a field outside
// the consent and reports the refusal's reason. tests/test_node_client.py runs it against a
// real hub. Exit status: 0 when all of that held, 1 when a verification failed or the hub
// answered otherwise than the contract says, 2 on bad set-up.
//
// Environment: JEMBATAN_HUB (host:port), JEMBATAN_CA (the hub CA's certificate),
// JEMBATAN_KEY and JEMBATAN_CERT (the member's key and certificate, PEM),
// JEMBATAN_LOG_KEY (the hub's log public key, PEM: receipts), JEMBATAN_VERIFIER (the hub's
// verifier key string: checkpoints), JEMBATAN_SERVICE, JEMBATAN_SUBJECT, JEMBATAN_PURPOSE,
// JEMBATAN_CONSENT (the consent artefact), JEMBATAN_FIELDS (comma-separated, consented) and
// JEMBATAN_REFUSED_FIELDS (comma-separated, some outside the consent).
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

import {
  VerificationError,
  b64url,
  refusalReason,
  signRequest,
  verifyCheckpoint,
  verifyInclusion,
  verifyReceipt,
} from "./contract.mjs";

const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
const DEADLINE_MS = 10_000;
const MEMBER_URI = "URI:jembatan://";

function setting(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`set ${name}`);
    process.exit(2);
  }
  return value;
}

const read = (name) => readFileSync(setting(name));

// The member id is the certificate's one jembatan:// SAN URI; client_id must say the same.
function memberId(certPem) {
  const names = (new X509Certificate(certPem).subjectAltName ?? "").split(", ");
  const members = names.filter((n) => n.startsWith(MEMBER_URI));
  if (members.length !== 1) throw new VerificationError("the certificate names no one member");
  return members[0].slice(MEMBER_URI.length);
}

// Unary call as a promise, with a deadline; a refusal rejects with the gRPC error.
function call(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + DEADLINE_MS }, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

const statusName = (code) => Object.keys(grpc.status).find((k) => grpc.status[k] === code);

async function main() {
  const certPem = read("JEMBATAN_CERT");
  const clientId = memberId(certPem);
  const key = createPrivateKey(read("JEMBATAN_KEY"));
  const logKey = createPublicKey(read("JEMBATAN_LOG_KEY"));
  const verifier = read("JEMBATAN_VERIFIER").toString("utf8");

  const loaded = protoLoader.loadSync(["jembatan/v1/exchange.proto", "jembatan/v1/audit.proto"], {
    includeDirs: [PROTO],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const v1 = grpc.loadPackageDefinition(loaded).jembatan.v1;
  // Bodies and results are protobuf bytes inside the messages: encoded and decoded here.
  const messages = new protobuf.Root();
  messages.resolvePath = (_, target) => path.join(PROTO, target);
  messages.loadSync("jembatan/v1/exchange.proto", { keepCase: true });
  const QueryBody = messages.lookupType("jembatan.v1.QueryBody");
  const QueryResult = messages.lookupType("jembatan.v1.QueryResult");
  const Treatment = messages.lookupEnum("jembatan.v1.Treatment");

  const credentials = grpc.credentials.createSsl(
    read("JEMBATAN_CA"),
    read("JEMBATAN_KEY"),
    certPem,
  );
  const exchange = new v1.Exchange(setting("JEMBATAN_HUB"), credentials);
  const audit = new v1.Audit(setting("JEMBATAN_HUB"), credentials, {
    channelOverride: exchange.getChannel(),
  });

  function request(fields) {
    const body = Buffer.from(
      QueryBody.encode(
        QueryBody.fromObject({
          client_id: clientId,
          service_id: setting("JEMBATAN_SERVICE"),
          subject: setting("JEMBATAN_SUBJECT"),
          purpose: setting("JEMBATAN_PURPOSE"),
          fields,
          consent: setting("JEMBATAN_CONSENT"),
          request_id: b64url(randomBytes(12)),
        }),
      ).finish(),
    );
    return { body, signature: signRequest(body, key, clientId) };
  }

  // 1. The consented query, its receipt and its place in the log.
  const asked = setting("JEMBATAN_FIELDS").split(",");
  const query = request(asked);
  const response = await call(exchange, "Query", query);
  const { receipt } = response;
  verifyReceipt(logKey, receipt, response.result);
  console.log(`receipt verified log_index=${receipt.log_index}`);
  const result = QueryResult.decode(response.result);
  const sent = QueryBody.decode(query.body);
  if (result.request_id !== sent.request_id || result.service_id !== sent.service_id) {
    throw new VerificationError("the result answers another request");
  }
  for (const field of result.fields) {
    const [kind] = Object.keys(field.value ?? {});
    const value = field.value?.[kind];
    console.log(
      `released ${field.name} ${Treatment.valuesById[field.treatment]}` +
        ` ${JSON.stringify(field.detail)} ${JSON.stringify(value)}`,
    );
  }

  const index = BigInt(receipt.log_index);
  const signed = await call(audit, "GetCheckpoint", { min_size: String(index + 1n) });
  const checkpoint = verifyCheckpoint(signed.note, verifier);
  console.log(`checkpoint verified size=${checkpoint.size}`);
  if (checkpoint.size <= index) throw new VerificationError("the checkpoint is older than asked");
  const proof = await call(audit, "GetInclusionProof", {
    index: String(index),
    tree_size: String(checkpoint.size),
  });
  // The receipt's leaf hash, not the proof's: the receipt is what the hub signed.
  verifyInclusion(index, checkpoint.size, receipt.leaf_hash, proof.hashes, checkpoint.rootHash);
  console.log(`inclusion verified index=${index} size=${checkpoint.size}`);

  // 2. A field outside the consent: refused, with its reason.
  try {
    await call(exchange, "Query", request(setting("JEMBATAN_REFUSED_FIELDS").split(",")));
  } catch (error) {
    if (error.code === undefined) throw error;
    const { reason, errorInfo } = refusalReason(error);
    const info = errorInfo ? ` (ErrorInfo ${errorInfo.domain} ${errorInfo.reason})` : "";
    console.log(`refused ${statusName(error.code)} ${reason}: ${error.details}${info}`);
    exchange.close();
    return;
  }
  throw new VerificationError("the query outside the consent was released");
}

main().catch((error) => {
  if (error instanceof VerificationError) {
    console.error(`verification failed: ${error.message}`);
  } else {
    console.error(`failed: ${error.stack ?? error}`);
  }
  process.exit(1);
});

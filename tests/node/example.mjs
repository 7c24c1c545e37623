// Recomputes the worked example of docs/contract.md in Node, with the same code as
// client.mjs: the body's encoding, its digest, the envelope's signing input, the ES256
// signature, the receipt, the signed checkpoint and the inclusion proof must all come out as
// the doc prints them; and each verification must refuse a tampered copy. Prints "example
// verified" and exits 0, or says what differs and exits 1.
//
//   node example.mjs ../../docs/contract.md
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import protobuf from "protobufjs";

import {
  VerificationError,
  b64url,
  ed25519Key,
  envelopeParts,
  hashLeaf,
  receiptMessage,
  sha256,
  signRequest,
  verifyCheckpoint,
  verifyEnvelope,
  verifyInclusion,
  verifyReceipt,
  verifierKey,
} from "./contract.mjs";

const PROTO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
const BLOCK = /^```text example:(\w+)\n([\s\S]*?)^```$/gm;

// The doc's blocks: lines "name: value", a value continued on lines after two spaces.
function parse(text) {
  const entries = {};
  for (const [, , body] of text.matchAll(BLOCK)) {
    let last;
    for (const line of body.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("  ")) {
        entries[last] += line.slice(2);
      } else {
        const colon = line.indexOf(":");
        last = line.slice(0, colon);
        entries[last] = line.slice(colon + 1).replace(/^ /, "");
      }
    }
  }
  return entries;
}

function same(what, got, want) {
  const [a, b] = [got, want].map((v) => (Buffer.isBuffer(v) ? v.toString("hex") : String(v)));
  if (a !== b) throw new Error(`${what}: computed ${a}, the doc says ${b}`);
}

function refused(what, check) {
  try {
    check();
  } catch (error) {
    if (error instanceof VerificationError) return;
    throw error;
  }
  throw new Error(`${what} was not refused`);
}

const hex = (text) => Buffer.from(text, "hex");
const plusOne = (bytes) => Buffer.concat([bytes, Buffer.from([0])]);

function main() {
  const doc = parse(readFileSync(process.argv[2], "utf8"));
  const root = new protobuf.Root();
  root.resolvePath = (_, target) => path.join(PROTO, target);
  root.loadSync("jembatan/v1/exchange.proto", { keepCase: true });
  const [QueryBody, QueryRequest, QueryResponse, QueryResult] = [
    "QueryBody",
    "QueryRequest",
    "QueryResponse",
    "QueryResult",
  ].map((name) => root.lookupType(`jembatan.v1.${name}`));

  // The request: body bytes, digest, signing input, signature.
  const body = Buffer.from(
    QueryBody.encode(
      QueryBody.fromObject({
        client_id: doc.client_id,
        service_id: doc.service_id,
        subject: doc.subject,
        purpose: doc.purpose,
        fields: doc.fields.split(" "),
        consent: doc.consent,
        request_id: doc.request_id,
      }),
    ).finish(),
  );
  same("body", body, hex(doc.body));
  same("body_sha256", b64url(sha256(body)), doc.body_sha256);
  const claims = JSON.parse(doc.jws_claims);
  const parts = envelopeParts(body, doc.client_id, Number(doc.now), claims.jti);
  same("jws_header", JSON.stringify(parts.header), doc.jws_header);
  same("jws_claims", JSON.stringify(parts.claims), doc.jws_claims);
  same("signing_input", parts.input, doc.signing_input);
  same("jws", `${parts.input}.${b64url(hex(doc.signature_r_s))}`, doc.jws);
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: b64url(hex(doc.client_key_x)),
    y: b64url(hex(doc.client_key_y)),
  };
  const clientPublic = createPublicKey({ key: jwk, format: "jwk" });
  verifyEnvelope(doc.jws, body, clientPublic);
  // Node signs with the same key what the hub's verifier accepts (ECDSA: other bytes).
  const d = b64url(hex(doc.client_key_d));
  const clientKey = createPrivateKey({ key: { ...jwk, d }, format: "jwk" });
  verifyEnvelope(signRequest(body, clientKey, doc.client_id), body, clientPublic);
  refused("an envelope over another body", () =>
    verifyEnvelope(doc.jws, plusOne(body), clientPublic),
  );
  const request = Buffer.from(QueryRequest.encode({ body, signature: doc.jws }).finish());
  same("request_sha256", sha256(request).toString("hex"), doc.request_sha256);
  const consentInput = doc.consent.slice(0, doc.consent.lastIndexOf("."));
  const consentSignature = Buffer.from(doc.consent.split(".")[2], "base64url");
  const consentKey = ed25519Key(hex(doc.consent_manager_public));
  if (!verify(null, Buffer.from(consentInput), consentKey, consentSignature)) {
    throw new Error("the consent artefact does not verify with the consent manager's key");
  }

  // The response: result, receipt, record, leaf.
  const response = QueryResponse.decode(hex(doc.response));
  const result = Buffer.from(response.result);
  const receipt = {
    log_index: BigInt(response.receipt.log_index.toString()),
    leaf_hash: Buffer.from(response.receipt.leaf_hash),
    signature: Buffer.from(response.receipt.signature),
  };
  same("result", result, hex(doc.result));
  same("result_sha256", sha256(result), hex(doc.result_sha256));
  const released = QueryResult.decode(result);
  same("salt", Buffer.from(released.salt), hex(doc.salt));
  same("policy_version", released.policy_version, doc.policy_version);
  same("log_index", receipt.log_index, doc.log_index);
  same("leaf_hash", receipt.leaf_hash, hex(doc.leaf_hash));
  same("receipt_signature", receipt.signature, hex(doc.receipt_signature));
  const message = receiptMessage(receipt.log_index, receipt.leaf_hash, result);
  same("receipt_message", message, hex(doc.receipt_message));
  const record = JSON.parse(doc.record);
  same("record's response_digest", record.response_digest, doc.result_sha256);
  same("record's request_digest", record.request_digest, doc.request_sha256);
  same("leaf hash of the record", hashLeaf(Buffer.from(doc.record, "utf8")), hex(doc.leaf_hash));
  const logKey = ed25519Key(hex(doc.log_public));
  verifyReceipt(logKey, receipt, result);
  const elsewhere = { ...receipt, log_index: receipt.log_index + 1n };
  refused("a receipt for another index", () => verifyReceipt(logKey, elsewhere, result));
  refused("a receipt over another result", () => verifyReceipt(logKey, receipt, plusOne(result)));
  const other = generateKeyPairSync("ed25519").publicKey;
  refused("a receipt checked with another key", () => verifyReceipt(other, receipt, result));

  // The checkpoint and the inclusion proof.
  const note = JSON.parse(doc.checkpoint_note);
  const checkpoint = verifyCheckpoint(note, doc.verifier_key);
  same("tree_size", checkpoint.size, doc.tree_size);
  same("root_hash", checkpoint.rootHash, hex(doc.root_hash));
  const proof = Object.keys(doc).filter((k) => k.startsWith("proof_")).map((k) => hex(doc[k]));
  const { size, rootHash } = checkpoint;
  verifyInclusion(receipt.log_index, size, receipt.leaf_hash, proof, rootHash);
  const otherRaw = Buffer.from(other.export({ format: "jwk" }).x, "base64url");
  const otherVerifier = verifierKey(checkpoint.origin, otherRaw);
  refused("a checkpoint checked with another key", () => verifyCheckpoint(note, otherVerifier));
  const grown = note.replace(`\n${doc.tree_size}\n`, `\n${size + 1n}\n`);
  refused("a checkpoint of another size", () => verifyCheckpoint(grown, doc.verifier_key));
  const flipped = Buffer.from(proof[0]);
  flipped[0] ^= 1;
  const tampered = {
    "a flipped proof hash": [receipt.log_index, flipped, ...proof.slice(1)],
    "another index": [receipt.log_index + 1n, ...proof],
    "a missing proof hash": [receipt.log_index, ...proof.slice(0, -1)],
    "an extra proof hash": [receipt.log_index, ...proof, proof[0]],
  };
  for (const [what, [index, ...hashes]] of Object.entries(tampered)) {
    refused(what, () => verifyInclusion(index, size, receipt.leaf_hash, hashes, rootHash));
  }
  const otherLeaf = hashLeaf(Buffer.from("record 4"));
  refused("another leaf", () =>
    verifyInclusion(receipt.log_index, size, otherLeaf, proof, rootHash),
  );
  console.log("example verified");
}

try {
  main();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}

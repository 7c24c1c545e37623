// The Jembatan wire contract in Node, written from docs/contract.md and the .proto comments
// alone: the signed request envelope, the receipt, the signed checkpoint and the RFC 9162
// inclusion proof, and how a refusal names its reason. Cryptography is Node's own
// (node:crypto); only the encodings the contract specifies are written here.
import { createHash, createPublicKey, randomBytes, sign, verify } from "node:crypto";

import protobuf from "protobufjs";

export const REQUEST_TYPE = "jembatan-request+jwt";
// The contract's advice: exp = iat + 60, the hub's freshness window.
export const REQUEST_TTL_S = 60;
export const REASON_KEY = "jembatan-reason";
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
const RECEIPT_DOMAIN = Buffer.from("jembatan-receipt/v1\n", "ascii");
const ED25519 = Buffer.from([0x01]);
const SIGNATURE_PREFIX = "\u2014 "; // an em dash and a space
const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

export class VerificationError extends Error {}

export const sha256 = (data) => createHash("sha256").update(data).digest();
// Node's base64url is the unpadded alphabet of RFC 4648 §5, as JWS wants.
export const b64url = (data) => Buffer.from(data).toString("base64url");

function fail(message) {
  throw new VerificationError(message);
}

// --- the request envelope -----------------------------------------------------------------

export function envelopeParts(body, issuer, now, nonce) {
  const header = { alg: "ES256", typ: REQUEST_TYPE };
  const claims = {
    iss: issuer,
    iat: now,
    exp: now + REQUEST_TTL_S,
    jti: nonce,
    body_sha256: b64url(sha256(body)),
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return { header, claims, input };
}

// A compact JWS (ES256, no kid) over the exact body bytes, issued now with a fresh nonce.
export function signRequest(body, privateKey, issuer, now = Math.floor(Date.now() / 1000)) {
  const { input } = envelopeParts(body, issuer, now, b64url(randomBytes(16)));
  // JWS wants the raw 64-byte r || s (RFC 7518 §3.4), not DER.
  const signature = sign("sha256", Buffer.from(input, "ascii"), {
    key: privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${b64url(signature)}`;
}

// The header and claims of an ES256 envelope over body, if publicKey signed it.
export function verifyEnvelope(jws, body, publicKey) {
  const [header64, claims64, signature64] = jws.split(".");
  const ok = verify(
    "sha256",
    Buffer.from(`${header64}.${claims64}`, "ascii"),
    { key: publicKey, dsaEncoding: "ieee-p1363" },
    Buffer.from(signature64, "base64url"),
  );
  if (!ok) fail("the envelope's signature does not verify");
  const header = JSON.parse(Buffer.from(header64, "base64url"));
  const claims = JSON.parse(Buffer.from(claims64, "base64url"));
  if (claims.body_sha256 !== b64url(sha256(body))) fail("the envelope is over another body");
  return { header, claims };
}

// --- the receipt --------------------------------------------------------------------------

export function receiptMessage(logIndex, leafHash, result) {
  const index = Buffer.alloc(8);
  index.writeBigUInt64BE(BigInt(logIndex));
  return Buffer.concat([RECEIPT_DOMAIN, index, leafHash, sha256(result)]);
}

export function verifyReceipt(logKey, receipt, result) {
  const message = receiptMessage(receipt.log_index, receipt.leaf_hash, result);
  if (!verify(null, message, logKey, receipt.signature)) {
    fail(`receipt for log index ${receipt.log_index} does not verify`);
  }
}

// --- the signed checkpoint ----------------------------------------------------------------

export function ed25519Key(raw) {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(raw) }, format: "jwk" });
}

const keyId = (name, raw) =>
  sha256(Buffer.concat([Buffer.from(`${name}\n`, "utf8"), ED25519, raw])).subarray(0, 4);

// The verifier key string of the Ed25519 key raw (32 bytes) under name.
export function verifierKey(name, raw) {
  const encoded = Buffer.concat([ED25519, raw]).toString("base64");
  return `${name}+${keyId(name, raw).toString("hex")}+${encoded}`;
}

// <name>+<hex key id>+<base64(0x01 || key)>: the name, the key id and the key.
export function parseVerifierKey(text) {
  const [name, hexId, ...rest] = text.trim().split("+");
  const encoded = rest.join("+"); // standard base64 may itself hold "+"
  const raw = Buffer.from(encoded, "base64");
  if (!name || !encoded || raw.length !== 33 || raw[0] !== 0x01) {
    fail("the verifier key is not <name>+<key id>+<base64(0x01 || Ed25519 key)>");
  }
  const id = keyId(name, raw.subarray(1));
  if (id.toString("hex") !== hexId) fail("the verifier key's id does not match its name and key");
  return { name, id, key: ed25519Key(raw.subarray(1)) };
}

// The checkpoint in a signed note, if the verifier key signed it: origin, size and root.
export function verifyCheckpoint(note, verifierText) {
  const { name, id, key } = parseVerifierKey(verifierText);
  const split = note.indexOf("\n\n");
  if (split <= 0) fail("not a signed note: no blank line after the text");
  const text = note.slice(0, split + 1); // the signed text ends with its newline
  for (const line of note.slice(split + 2).split("\n")) {
    if (line === "") continue;
    if (!line.startsWith(SIGNATURE_PREFIX)) fail("malformed signature line");
    const space = line.lastIndexOf(" ");
    const signer = line.slice(SIGNATURE_PREFIX.length, space);
    const stamp = Buffer.from(line.slice(space + 1), "base64");
    if (signer !== name || !stamp.subarray(0, 4).equals(id)) continue; // another signer's
    if (!verify(null, Buffer.from(text, "utf8"), key, stamp.subarray(4))) {
      fail(`the checkpoint's signature by ${name} does not verify`);
    }
    const [origin, size, root] = text.split("\n");
    const rootHash = Buffer.from(root, "base64");
    if (origin !== name) fail(`the checkpoint names origin ${origin}, not ${name}`);
    if (!/^(0|[1-9][0-9]*)$/.test(size)) fail("the tree size is not a decimal number");
    if (rootHash.length !== 32) fail("the root hash is not 32 bytes");
    return { origin, size: BigInt(size), rootHash };
  }
  return fail(`the checkpoint carries no signature by ${name}`);
}

// --- the inclusion proof (RFC 9162 §2.1.3.2) ----------------------------------------------

export const hashLeaf = (data) => sha256(Buffer.concat([Buffer.from([0x00]), data]));
const hashChildren = (left, right) => sha256(Buffer.concat([Buffer.from([0x01]), left, right]));

export function verifyInclusion(index, size, leafHash, proof, rootHash) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) fail(`index ${index} is beyond the tree size ${size}`);
  for (const h of [leafHash, rootHash, ...proof]) {
    if (h.length !== 32) fail("a hash in the proof is not 32 bytes");
  }
  let r = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0n) fail("the proof has extra hashes");
    if (fn & 1n || fn === sn) {
      r = hashChildren(p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail("the proof is missing hashes");
  if (!r.equals(rootHash)) fail("the proof leads to another root");
}

// --- refusals -----------------------------------------------------------------------------

// google.rpc.Status and ErrorInfo, as googleapis publishes them (only the fields read here).
const rpc = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        rpc: {
          nested: {
            Any: {
              fields: { type_url: { type: "string", id: 1 }, value: { type: "bytes", id: 2 } },
            },
            Status: {
              fields: {
                code: { type: "int32", id: 1 },
                message: { type: "string", id: 2 },
                details: { rule: "repeated", type: "Any", id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: "string", id: 1 },
                domain: { type: "string", id: 2 },
                metadata: { keyType: "string", type: "string", id: 3 },
              },
            },
          },
        },
      },
    },
  },
});

// The Reason of a refused call: the jembatan-reason trailer and, where the hub sends one,
// the ErrorInfo in grpc-status-details-bin, which must agree with it.
export function refusalReason(error) {
  const [trailer] = error.metadata?.get(REASON_KEY) ?? [];
  const [details] = error.metadata?.get(STATUS_DETAILS_KEY) ?? [];
  let info;
  if (details) {
    const status = rpc.lookupType("google.rpc.Status").decode(details);
    const any = status.details.find((d) => d.type_url === ERROR_INFO_TYPE);
    if (any) info = rpc.lookupType("google.rpc.ErrorInfo").decode(any.value);
  }
  if (trailer && info && info.reason !== trailer) {
    fail(`the trailer says ${trailer} but ErrorInfo says ${info.reason}`);
  }
  return { reason: trailer ?? info?.reason ?? "", errorInfo: info };
}

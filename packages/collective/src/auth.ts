/**
 * The challenge-response both ends of every connection run before anything else is read: each
 * side proves it holds the token by an HMAC over the two fresh nonces, so the token never crosses
 * the wire and a recorded handshake is worth nothing on the next connection.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
/** Bumped with any change to the wire protocol; it is part of every proof, so versions never mix. */
export const PROTOCOL_VERSION = 1;

/** What a connection is for: a proof made for one purpose does not pass for another. */
export type Purpose = 'master' | 'ring';
type Direction = 'client' | 'server';

/** The HMAC key: the token's UTF-8 bytes, or empty without one (loopback only). */
export function authKey(token: string | undefined): Buffer {
  return Buffer.from(token ?? '', 'utf8');
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** HMAC-SHA256(key, "loom-collective/<version> <purpose> <direction>" | serverNonce | clientNonce). */
export function proof(key: Buffer, purpose: Purpose, direction: Direction, serverNonce: Uint8Array, clientNonce: Uint8Array): Buffer {
  return createHmac('sha256', key)
    .update(`loom-collective/${PROTOCOL_VERSION} ${purpose} ${direction}`)
    .update(serverNonce)
    .update(clientNonce)
    .digest();
}

/** The client's answer to a challenge: its nonce, then its proof. */
export function makeResponse(key: Buffer, purpose: Purpose, serverNonce: Uint8Array): { clientNonce: Buffer; response: Buffer } {
  const clientNonce = newNonce();
  const response = Buffer.concat([clientNonce, proof(key, purpose, 'client', serverNonce, clientNonce)]);
  return { clientNonce, response };
}

/** Server side: checks a Response payload; returns the client nonce when the proof is right, else null. */
export function checkResponse(key: Buffer, purpose: Purpose, serverNonce: Uint8Array, response: Uint8Array): Buffer | null {
  if (response.byteLength !== NONCE_BYTES + MAC_BYTES) return null;
  const clientNonce = Buffer.from(response.subarray(0, NONCE_BYTES));
  const expected = proof(key, purpose, 'client', serverNonce, clientNonce);
  return timingSafeEqual(expected, response.subarray(NONCE_BYTES)) ? clientNonce : null;
}

/** Client side: checks the server's Confirm payload. */
export function checkConfirm(key: Buffer, purpose: Purpose, serverNonce: Uint8Array, clientNonce: Uint8Array, confirm: Uint8Array): boolean {
  if (confirm.byteLength !== MAC_BYTES) return false;
  return timingSafeEqual(proof(key, purpose, 'server', serverNonce, clientNonce), confirm);
}

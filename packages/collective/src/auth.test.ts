import { describe, expect, it } from 'vitest';
import { authKey, checkConfirm, checkResponse, makeResponse, MAC_BYTES, newNonce, NONCE_BYTES, proof } from './auth.js';

describe('handshake proofs', () => {
  const key = authKey('s3cret');

  it('a client with the token passes; the server proves it back', () => {
    const serverNonce = newNonce();
    const { clientNonce, response } = makeResponse(key, 'master', serverNonce);
    expect(response.byteLength).toBe(NONCE_BYTES + MAC_BYTES);
    const seen = checkResponse(key, 'master', serverNonce, response);
    expect(seen?.equals(clientNonce)).toBe(true);
    const confirm = proof(key, 'master', 'server', serverNonce, clientNonce);
    expect(checkConfirm(key, 'master', serverNonce, clientNonce, confirm)).toBe(true);
  });

  it('a wrong token, another purpose, another nonce or a reflected proof fails', () => {
    const serverNonce = newNonce();
    const { clientNonce, response } = makeResponse(key, 'master', serverNonce);
    expect(checkResponse(authKey('other'), 'master', serverNonce, response)).toBeNull();
    expect(checkResponse(key, 'ring', serverNonce, response)).toBeNull();
    expect(checkResponse(key, 'master', newNonce(), response)).toBeNull();
    expect(checkResponse(key, 'master', serverNonce, response.subarray(0, 40))).toBeNull();
    // The client's own proof sent back as the server's must not pass.
    expect(checkConfirm(key, 'master', serverNonce, clientNonce, response.subarray(NONCE_BYTES))).toBe(false);
    expect(checkConfirm(key, 'master', serverNonce, clientNonce, Buffer.alloc(5))).toBe(false);
  });

  it('the token is not in the response bytes', () => {
    const token = 'a-token-that-must-not-leak';
    const { response } = makeResponse(authKey(token), 'ring', newNonce());
    expect(response.includes(Buffer.from(token))).toBe(false);
  });

  it('no token means an empty key (loopback only), which still runs the handshake', () => {
    const serverNonce = newNonce();
    const { response } = makeResponse(authKey(undefined), 'master', serverNonce);
    expect(checkResponse(authKey(undefined), 'master', serverNonce, response)).not.toBeNull();
    expect(checkResponse(key, 'master', serverNonce, response)).toBeNull();
  });
});

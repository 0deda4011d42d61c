import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { open, PayloadDecryptionError, seal } from '../lib/codec/aes-gcm';
import { loadPayloadKeys, type PayloadKeyRing } from '../lib/codec/payload-keys';
import type { PipewrightConfig } from '../lib/config';

// Not exported from contracts/index: it uses node:crypto, which the workflow bundle must not pull in.
// The codec runs in clients, in the workers outside the workflow sandbox, and in the codec server.

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encrypts every payload (workflow and activity inputs and results, memos, queries, heartbeat
 * details, failures' details) with AES-256-GCM, so the history Temporal stores holds no spec,
 * metric or artifact ref in clear. The whole original payload (metadata and data) is sealed; the
 * outer payload carries only the encoding and the key id. Payloads already encrypted, or with an
 * encoding this codec did not write, pass through decode unchanged.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: PayloadKeyRing) {}

  // async: a payload that cannot be opened rejects the promise rather than throwing at the call.
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const sealed = seal(this.ring, temporal.api.common.v1.Payload.encode(payload).finish());
      return {
        metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: encoder.encode(sealed.keyId) },
        data: sealed.bytes,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyId = payload.metadata?.[KEY_ID_METADATA];
      if (!keyId) throw new PayloadDecryptionError(`an encrypted payload has no "${KEY_ID_METADATA}" metadata; it was not written by pipewright's codec.`);
      const plain = open(this.ring, { keyId: decoder.decode(keyId), bytes: payload.data ?? new Uint8Array() });
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The codec a process's configuration asks for: encryption when payload keys are set, else none. */
export function payloadCodecs(config: Pick<PipewrightConfig, 'payloadKeys'>): PayloadCodec[] {
  return config.payloadKeys ? [new EncryptionCodec(loadPayloadKeys(config.payloadKeys))] : [];
}

/** The data converter every client and worker uses; identical on both sides, or they cannot read each other. */
export function dataConverterFor(config: Pick<PipewrightConfig, 'payloadKeys'>): DataConverter {
  return { payloadCodecs: payloadCodecs(config) };
}

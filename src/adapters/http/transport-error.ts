/** Failures of the HTTP transport itself, before any use case runs. */
export type TransportCode = 'payload_too_large' | 'unsupported_media_type' | 'invalid_request' | 'not_found';

export class TransportError extends Error {
  constructor(
    readonly status: number,
    readonly code: TransportCode,
    message: string,
  ) {
    super(message);
  }
}

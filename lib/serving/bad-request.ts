/** A request the server refuses with HTTP 400; the message names the offending field. */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** A request for a model or version the server does not serve: HTTP 404, with what it does serve. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** Every stable error code the server can answer with (SPEC §3). */
export type ErrorCode =
  | 'invalid_request'
  | 'weak_password'
  | 'invalid_role'
  | 'invalid_credentials'
  | 'unauthenticated'
  | 'invalid_token'
  | 'token_expired'
  | 'token_reused'
  | 'forbidden'
  | 'user_suspended'
  | 'registration_disabled'
  | 'not_found'
  | 'user_exists'
  | 'last_superadmin'
  | 'too_many_requests'
  | 'unavailable';

/** Base of every expected failure. The message is safe to show to clients. */
export class AuthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class InvalidRequest extends AuthError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

export class WeakPassword extends AuthError {
  constructor(message: string) {
    super('weak_password', message);
  }
}

export class InvalidRole extends AuthError {
  constructor() {
    super('invalid_role', 'Role must be one of superadmin, org_admin, operator, viewer');
  }
}

/** Wrong email or password. `atLogin` decides 401 (login) versus 400 (old password check). */
export class InvalidCredentials extends AuthError {
  readonly atLogin: boolean;
  constructor(atLogin = true) {
    super('invalid_credentials', atLogin ? 'Invalid email or password' : 'Old password is incorrect');
    this.atLogin = atLogin;
  }
}

export class Unauthenticated extends AuthError {
  constructor() {
    super('unauthenticated', 'A bearer token is required');
  }
}

/** A token was presented and refused. `bearer` marks access tokens sent in `Authorization`. */
export class InvalidToken extends AuthError {
  readonly bearer: boolean;
  constructor(message = 'Token is invalid', bearer = false, options?: { cause?: unknown }) {
    super('invalid_token', message, options);
    this.bearer = bearer;
  }
}

export class TokenExpired extends AuthError {
  readonly bearer: boolean;
  constructor(bearer = false) {
    super('token_expired', 'Token has expired');
    this.bearer = bearer;
  }
}

export class TokenReused extends AuthError {
  constructor() {
    super('token_reused', 'Refresh token was already used; the session has been revoked');
  }
}

export class Forbidden extends AuthError {
  constructor(message = 'You are not allowed to do this') {
    super('forbidden', message);
  }
}

export class UserSuspended extends AuthError {
  constructor() {
    super('user_suspended', 'This account is suspended');
  }
}

export class RegistrationDisabled extends AuthError {
  constructor() {
    super('registration_disabled', 'Registration is disabled');
  }
}

export class NotFound extends AuthError {
  constructor(message = 'Not found') {
    super('not_found', message);
  }
}

export class UserExists extends AuthError {
  constructor() {
    super('user_exists', 'A user with this email already exists');
  }
}

export class LastSuperadmin extends AuthError {
  constructor() {
    super('last_superadmin', 'The last superadmin cannot be demoted');
  }
}

export class TooManyRequests extends AuthError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('too_many_requests', 'Too many requests; try again later');
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** A store the request needs does not answer. */
export class Unavailable extends AuthError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('unavailable', `Service temporarily unavailable (${what})`, options);
  }
}

/** Error codes of SPEC §5 with their HTTP status. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  ADMIN_ONLY_PERMISSION: 400,
  UNAUTHENTICATED: 401,
  SESSION_REVOKED: 401,
  INVALID_CREDENTIALS: 401,
  TOTP_REQUIRED: 401,
  TOTP_INVALID: 401,
  SSO_REQUIRED: 403,
  FORBIDDEN: 403,
  SELF_ACTION_FORBIDDEN: 403,
  PLAN_FEATURE_UNAVAILABLE: 403,
  NOT_FOUND: 404,
  USER_EXISTS: 409,
  SEAT_LIMIT_REACHED: 409,
  AGENT_SEAT_LIMIT_REACHED: 409,
  OWNER_PROTECTED: 409,
  BILLING_CONTACT_PROTECTED: 409,
  ROLE_IN_USE: 409,
  SYSTEM_ROLE_READONLY: 409,
  CONFLICT: 409,
  INVITATION_INVALID: 410,
  /** A mailed link (email verification, password reset) that is unknown, used, replaced or expired. */
  LINK_INVALID: 410,
  PAYLOAD_TOO_LARGE: 413,
  VERSION_MISMATCH: 412,
  PRECONDITION_REQUIRED: 428,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  /** A dependency (the database, Redis) is unreachable; the answer carries `Retry-After`. Nothing was written. */
  UNAVAILABLE: 503,
  /** The database cannot grow (disk full, SQLite's page limit). Nothing was written. */
  STORAGE_FULL: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    details?: Record<string, unknown>;
  };
}

/** `details` of a VALIDATION_FAILED error: each bad field (dotted path, `_` for the whole body) and what is wrong. */
export interface ValidationDetails {
  fields: Record<string, string[]>;
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === 'object' && error !== null && 'code' in error && 'message' in error;
}

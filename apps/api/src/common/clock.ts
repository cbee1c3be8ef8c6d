/** The time source of the API; tests replace it to move time (session expiry, TOTP windows). */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

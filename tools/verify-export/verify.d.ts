/** Types of verify.js (the offline verifier of activity exports) for the TypeScript tests. */
export type VerifyResult =
  | {
      ok: true;
      count: number;
      firstSeq: number | null;
      lastSeq: number | null;
      gaps: number;
      missing: number;
      fromStart: boolean;
    }
  | { ok: false; count: number; badSeq: number | null; line: number; reason: string };

export function verifyExport(input: NodeJS.ReadableStream, options?: { complete?: boolean }): Promise<VerifyResult>;

export function describe(result: VerifyResult): string;

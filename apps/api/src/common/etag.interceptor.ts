import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { map, type Observable } from 'rxjs';

/** Every resource answer (an object with a numeric `version`) carries `ETag: "<version>"`. */
@Injectable()
export class EtagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((body: unknown) => {
        const version = (body as { version?: unknown } | null)?.version;
        if (context.getType() === 'http' && typeof version === 'number') {
          const response = context.switchToHttp().getResponse<Response>();
          if (!response.headersSent) response.setHeader('ETag', `"${version}"`);
        }
        return body;
      }),
    );
  }
}

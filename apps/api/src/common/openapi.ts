import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation } from '@nestjs/swagger';
import { z } from 'zod';

/** Documents a JSON body in OpenAPI from the same zod schema that validates it. */
export const ApiJsonBody = (schema: z.ZodType, summary?: string) =>
  applyDecorators(
    ApiBody({ schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown> }),
    ...(summary ? [ApiOperation({ summary })] : []),
  );

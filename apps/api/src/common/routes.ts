import { applyDecorators, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { idParamSchema } from '@rolecall/contracts';
import { Requires, type Access } from './access.js';

/*
 * The route shapes the controllers repeat, each said once. A route still declares who may call it
 * (`access`, see `Requires`); left out only where the controller declares it for all its routes.
 */

const declared = (access: Access | undefined) => (access === undefined ? [] : [Requires(access)]);

/**
 * A POST that creates nothing (an action, a change, a check): it answers 200, not Nest's 201 Created,
 * or the status given (202 accepted for later, 204 nothing to say).
 */
export const PostAction = (path: string, access?: Access, status: 200 | 202 | 204 = 200) =>
  applyDecorators(Post(path), HttpCode(status), ...declared(access));

/** A DELETE, answering 204 No Content. */
export const DeleteRoute = (path: string, access?: Access) =>
  applyDecorators(Delete(path), HttpCode(204), ...declared(access));

/** The path's `:id`: a UUID, checked by the validation pipe and documented in OpenAPI (`@IdParam() { id }: IdParams`). */
export const IdParam = () => Param({ schema: idParamSchema });

export interface IdParams {
  readonly id: string;
}

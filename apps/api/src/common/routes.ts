import { applyDecorators, Delete, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
import { idParamSchema } from '@rolecall/contracts';
import { Requires, type Access } from './access.js';

/*
 * A route's method, path and access in one decorator. The path is relative to the controller's
 * (`''`: the controller's own). `access` (see `Requires`) is left out only where the controller
 * declares it for all its routes.
 */

const declared = (access: Access | undefined) => (access === undefined ? [] : [Requires(access)]);

export const GetRoute = (path: string, access?: Access) => applyDecorators(Get(path), ...declared(access));

/** A POST that creates something: 201 Created. */
export const PostRoute = (path: string, access?: Access) => applyDecorators(Post(path), ...declared(access));

/**
 * A POST that creates nothing (an action, a change, a check): it answers 200, not Nest's 201 Created,
 * or the status given (202 accepted for later, 204 nothing to say).
 */
export const PostAction = (path: string, access?: Access, status: 200 | 202 | 204 = 200) =>
  applyDecorators(Post(path), HttpCode(status), ...declared(access));

export const PatchRoute = (path: string, access?: Access) => applyDecorators(Patch(path), ...declared(access));

export const PutRoute = (path: string, access?: Access) => applyDecorators(Put(path), ...declared(access));

/** A DELETE, answering 204 No Content. */
export const DeleteRoute = (path: string, access?: Access) =>
  applyDecorators(Delete(path), HttpCode(204), ...declared(access));

/** The path's `:id`: a UUID, checked by the validation pipe and documented in OpenAPI (`@IdParam() { id }: IdParams`). */
export const IdParam = () => Param({ schema: idParamSchema });

export interface IdParams {
  readonly id: string;
}

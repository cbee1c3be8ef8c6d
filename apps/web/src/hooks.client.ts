import type { HandleClientError } from '@sveltejs/kit';

/** Unexpected errors get plain words on the error page; the details stay in the console. */
export const handleError: HandleClientError = ({ error, status }) => {
  console.error(error);
  return {
    message:
      status === 404
        ? 'There is no page at this address.'
        : 'Something went wrong. Reload the page, or try again in a moment.',
  };
};

// The dashboard is a client-rendered SPA served as static files by the API (index.html fallback).
export const ssr = false;
export const prerender = false;

// Container images per component: the environment's image when it names one, else the upstream
// image; a tag is appended when the image has none (the engine version for servers).

import type { EnvironmentDefaults } from '../../schemas/types/index.js';

export const DEFAULT_TWEMPROXY_IMAGE = 'nutcracker:0.5.0';
export const DEFAULT_HAPROXY_IMAGE = 'haproxy:2.6';

/** True when the image reference already carries a tag or a digest. */
function hasTag(image: string): boolean {
  if (image.includes('@')) return true;
  const lastSlash = image.lastIndexOf('/');
  return image.indexOf(':', lastSlash + 1) >= 0;
}

export function withTag(image: string, tag: string): string {
  return hasTag(image) ? image : `${image}:${tag}`;
}

/** The tag of an image ("2.6" of "haproxy:2.6"), or undefined when it has none. */
export function tagOf(image: string): string | undefined {
  const noDigest = image.split('@')[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? noDigest.slice(colon + 1) : undefined;
}

/** MariaDB numbers its releases from 10 upwards; MySQL's are 5.x, 8.x and 9.x. */
export function isMariadbVersion(version: string): boolean {
  const major = Number.parseInt(version.split('.')[0] ?? '', 10);
  return Number.isFinite(major) && major >= 10;
}

export function serverImage(engine: 'redis' | 'mysql', version: string, defaults: EnvironmentDefaults | undefined): string {
  if (engine === 'redis') return withTag(defaults?.images?.redis ?? 'redis', version);
  return withTag(defaults?.images?.mysql ?? (isMariadbVersion(version) ? 'mariadb' : 'mysql'), version);
}

export function proxyImage(kind: 'twemproxy' | 'haproxy', defaults: EnvironmentDefaults | undefined): string {
  const fallback = kind === 'twemproxy' ? DEFAULT_TWEMPROXY_IMAGE : DEFAULT_HAPROXY_IMAGE;
  const configured = defaults?.images?.[kind];
  return configured === undefined ? fallback : withTag(configured, tagOf(fallback) ?? 'latest');
}

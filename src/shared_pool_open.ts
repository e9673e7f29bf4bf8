/**
 * How a SharedPool object gets its region: created for `new SharedPool(options)`, or attached
 * by `SharedPool.attach` / `SharedPool.open` before the constructor runs and handed to it
 * through the options object (the constructor's one public signature stays the user's).
 *
 * @module
 */
import type { Native } from "../ffi/library.ts";
import type { StructLayout } from "./struct.ts";
import { checkLayout, type SharedPoolOptions, sharedPoolSettings } from "./shared_pool_options.ts";
import { createSharedRegion, holdSharedRegion, type SharedAttachment } from "./shared_pool_region.ts";

/** A region this realm already attached, handed from the static openers to the constructor. */
export interface Attached {
  id: number;
  path: string | undefined;
  layout: StructLayout<never> | undefined;
  debug: boolean;
}

const attachedOf = new WeakMap<object, Attached>();
const layoutOf = new WeakMap<object, StructLayout<never>>();

/** Options that make the constructor take over `attached` instead of creating a region. */
export function attachedRequest(attached: Attached): SharedPoolOptions {
  const request = {};
  attachedOf.set(request, attached);
  return request as SharedPoolOptions;
}

/** Marks options of `SharedPool.of` with the layout whose cursors the pool gets. */
export function withLayout(options: SharedPoolOptions, layout: StructLayout<never>): SharedPoolOptions {
  layoutOf.set(options, layout);
  return options;
}

/** What a SharedPool object is built on: a held region, its path, layout and mode. */
export interface Opened {
  attachment: SharedAttachment;
  path: string | undefined;
  layout: StructLayout<never> | undefined;
  debug: boolean;
}

/** Creates the region for `new SharedPool(options)`, or holds the one an opener attached. */
export function attachOrCreate(native: Native, options: SharedPoolOptions): Opened {
  const attached = attachedOf.get(options as object);
  if (attached !== undefined) {
    const attachment = holdSharedRegion(native, attached.id, "SharedPool.attach");
    try {
      const g = attachment.geometry;
      const layout = checkLayout("SharedPool.attach", attached.layout, g.blockSize, g.alignment);
      return { attachment, path: attached.path, layout, debug: attached.debug };
    } catch (error) {
      native.symbols.hp_shared_cache_release(attachment.id, attachment.cacheToken);
      native.symbols.hp_region_close(attachment.id);
      throw error;
    }
  }
  const where = "new SharedPool";
  const settings = sharedPoolSettings(where, options);
  const config = {
    blockSize: settings.blockSize,
    capacity: settings.capacity,
    capacityMax: settings.growth.maxCapacity,
    growChunk: settings.growth.chunk,
    alignment: settings.align,
    cachesMax: settings.maxWorkers,
    cacheCapacity: settings.cacheCapacity,
    retireCapacity: settings.retireCapacity,
  };
  const id = createSharedRegion(native, config, settings.placement, settings.path, where, settings.committedEstimate);
  const attachment = holdSharedRegion(native, id, where);
  return { attachment, path: settings.path, layout: layoutOf.get(options as object), debug: settings.debug };
}

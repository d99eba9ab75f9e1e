/**
 * The part of libheif-js (Emscripten build of libheif, embind API) that
 * src/image/heic.ts uses. The package ships typings only for its raw
 * exports (libheif-wasm/libheif.d.ts, not next to the bundled .mjs).
 */
declare module "libheif-js/libheif-wasm/libheif-bundle.mjs" {
  /** An embind enum value: compare `.value`. */
  export interface HeifEnum {
    value: number;
  }
  export interface HeifError {
    code: HeifEnum;
    subcode: HeifEnum;
    message: string;
  }
  export interface HeifChannel {
    id: HeifEnum;
    width: number;
    height: number;
    stride: number;
    bits_per_pixel: number;
    /** A view into the module's memory: valid until the image is released. */
    data: Uint8Array;
  }
  export interface HeifDecoded {
    image: object;
    width: number;
    height: number;
    channels: HeifChannel[];
  }
  export interface LibHeif {
    heif_get_version(): string;
    heif_context_alloc(): object | null;
    heif_context_free(ctx: object): void;
    heif_context_read_from_memory(ctx: object, bytes: Uint8Array): HeifError;
    /** A handle, or an error object (with `code`) when there is no primary image. */
    heif_js_context_get_primary_image_handle(ctx: object): object | HeifError;
    heif_image_handle_release(handle: object): void;
    /** Width and height as displayed: after the irot/imir/clap transforms. */
    heif_image_handle_get_width(handle: object): number;
    heif_image_handle_get_height(handle: object): number;
    heif_image_handle_has_alpha_channel(handle: object): number;
    heif_js_decode_image2(handle: object, colorspace: HeifEnum, chroma: HeifEnum): HeifDecoded | HeifError | null;
    heif_image_release(image: object): void;
    heif_colorspace: { heif_colorspace_RGB: HeifEnum };
    heif_chroma: { heif_chroma_interleaved_RGBA: HeifEnum };
    heif_channel: { heif_channel_interleaved: HeifEnum };
  }
  export interface LibHeifOptions {
    print?: (text: string) => void;
    printErr?: (text: string) => void;
  }
  /** The module, instantiated synchronously from the WebAssembly inside the bundle (nothing is fetched). */
  export default function libheif(options?: LibHeifOptions): LibHeif;
}

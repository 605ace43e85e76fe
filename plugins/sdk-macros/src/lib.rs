//! `#[router]` and `#[compaction_policy]`: turn one plain Rust function into a complete
//! DougDB plugin module (ABI v1 exports, allocator, version marker, encoding) by calling the
//! SDK's hidden runtime (`dougdb_plugin_sdk::__private`), so no layout lives here.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{ItemFn, MetaNameValue, Path, Token, parse_macro_input};

/// Marks `fn(key: &[u8], shard_count: u32) -> u32` as the plugin's routing function.
///
/// `#[router(init = my_init)]` also exports `my_init: fn(&[u8]) -> Result<(), String>`,
/// called once per instance with the plugin's configuration blob.
#[proc_macro_attribute]
pub fn router(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = parse_macro_input!(item as ItemFn);
    let init = match parse_init(attr.into()) {
        Ok(init) => init,
        Err(err) => return err.to_compile_error().into(),
    };
    let ident = &func.sig.ident;
    let entry = quote! {
        #[unsafe(no_mangle)]
        pub extern "C" fn dougdb_route(ptr: i32, len: i32, shard_count: i32) -> i64 {
            ::dougdb_plugin_sdk::__private::route(ptr, len, shard_count, #ident)
        }
    };
    expand(&func, entry, init)
}

/// Marks `fn(summary: &LevelsSummary) -> Option<CompactionTask>` as the plugin's compaction
/// policy. Accepts `init = my_init` like [`macro@router`].
#[proc_macro_attribute]
pub fn compaction_policy(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = parse_macro_input!(item as ItemFn);
    let init = match parse_init(attr.into()) {
        Ok(init) => init,
        Err(err) => return err.to_compile_error().into(),
    };
    let ident = &func.sig.ident;
    let entry = quote! {
        #[unsafe(no_mangle)]
        pub extern "C" fn dougdb_pick(ptr: i32, len: i32) -> i64 {
            ::dougdb_plugin_sdk::__private::pick(ptr, len, #ident)
        }
    };
    expand(&func, entry, init)
}

/// The only accepted argument is `init = path::to::function`.
fn parse_init(attr: TokenStream2) -> syn::Result<Option<Path>> {
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attr)?;
    let mut init = None;
    for arg in args {
        if !arg.path.is_ident("init") {
            return Err(syn::Error::new_spanned(
                arg.path,
                "expected `init = function`",
            ));
        }
        match arg.value {
            syn::Expr::Path(p) => init = Some(p.path),
            other => return Err(syn::Error::new_spanned(other, "expected a function path")),
        }
    }
    Ok(init)
}

/// The user's function unchanged, plus the exports every plugin has.
fn expand(func: &ItemFn, entry: TokenStream2, init: Option<Path>) -> TokenStream {
    let init_export = init.map(|init| {
        quote! {
            #[unsafe(no_mangle)]
            pub extern "C" fn dougdb_init(ptr: i32, len: i32) -> i32 {
                ::dougdb_plugin_sdk::__private::init(ptr, len, #init)
            }
        }
    });
    quote! {
        #func

        // The exports are unmangled so the host finds them by name: that is the whole ABI.
        // Only one plugin macro may be used per crate (the names would clash).
        #[allow(unsafe_code)]
        const _: () = {
            #[unsafe(no_mangle)]
            pub extern "C" fn dougdb_abi_version() -> i32 {
                ::dougdb_plugin_sdk::__private::ABI_VERSION
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn dougdb_alloc(size: i32) -> i32 {
                ::dougdb_plugin_sdk::__private::alloc(size)
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn dougdb_free(ptr: i32, size: i32) {
                ::dougdb_plugin_sdk::__private::free(ptr, size)
            }

            #entry
            #init_export
        };
    }
    .into()
}

//! Load-time checks of a compiled module against ABI v1, before any of its code runs:
//! imports (only `dougdb.log`), then the version marker, then every required export with
//! its exact signature.

use std::fmt::Write as _;

use dougdb_plugin_abi::{
    EXPORT_ABI_VERSION, EXPORT_ALLOC, EXPORT_FREE, EXPORT_INIT, EXPORT_MEMORY, EXPORT_PICK,
    EXPORT_ROUTE, IMPORT_LOG, IMPORT_MODULE,
};
use wasmtime::{ExternType, FuncType, Module, ValType};

use crate::{PluginError, Result};

/// What a plugin does, from its entry-point export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginKind {
    /// Exports `dougdb_route`.
    Router,
    /// Exports `dougdb_pick`.
    Compaction,
}

impl PluginKind {
    /// The entry point's export name.
    pub fn entry_export(self) -> &'static str {
        match self {
            Self::Router => EXPORT_ROUTE,
            Self::Compaction => EXPORT_PICK,
        }
    }

    fn entry_signature(self) -> Sig {
        match self {
            Self::Router => Sig(&[I32, I32, I32], &[I64]),
            Self::Compaction => Sig(&[I32, I32], &[I64]),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scalar {
    I32,
    I64,
}
use Scalar::{I32, I64};

/// A function signature over i32/i64 only.
#[derive(Clone, Copy)]
struct Sig(&'static [Scalar], &'static [Scalar]);

impl Sig {
    fn matches(self, ty: &FuncType) -> bool {
        fn same(want: &[Scalar], got: impl ExactSizeIterator<Item = ValType>) -> bool {
            want.len() == got.len()
                && want.iter().zip(got).all(|(w, g)| match w {
                    I32 => matches!(g, ValType::I32),
                    I64 => matches!(g, ValType::I64),
                })
        }
        same(self.0, ty.params()) && same(self.1, ty.results())
    }

    fn describe(self) -> String {
        let list = |s: &[Scalar]| {
            s.iter()
                .map(|v| if *v == I32 { "i32" } else { "i64" })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("func ({}) -> ({})", list(self.0), list(self.1))
    }
}

fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => {
            let mut s = String::from("func (");
            for (i, p) in f.params().enumerate() {
                let _ = write!(s, "{}{p}", if i > 0 { ", " } else { "" });
            }
            s.push_str(") -> (");
            for (i, r) in f.results().enumerate() {
                let _ = write!(s, "{}{r}", if i > 0 { ", " } else { "" });
            }
            s.push(')');
            s
        }
        ExternType::Memory(m) if m.is_64() => "a 64-bit memory".into(),
        ExternType::Memory(m) if m.is_shared() => "a shared memory".into(),
        ExternType::Memory(_) => "a memory".into(),
        ExternType::Global(_) => "a global".into(),
        ExternType::Table(_) => "a table".into(),
        ExternType::Tag(_) => "a tag".into(),
    }
}

const LOG_SIG: Sig = Sig(&[I32, I32, I32], &[]);
const VERSION_SIG: Sig = Sig(&[], &[I32]);
const ALLOC_SIG: Sig = Sig(&[I32], &[I32]);
const FREE_SIG: Sig = Sig(&[I32, I32], &[]);
const INIT_SIG: Sig = Sig(&[I32, I32], &[I32]);

/// Refuses any import but `dougdb.log` with its exact signature.
pub(crate) fn check_imports(plugin: &str, module: &Module) -> Result<()> {
    for import in module.imports() {
        if import.module() != IMPORT_MODULE || import.name() != IMPORT_LOG {
            return Err(PluginError::ForbiddenImport {
                plugin: plugin.into(),
                module: import.module().into(),
                name: import.name().into(),
            });
        }
        check_func(
            plugin,
            &format!("import {IMPORT_MODULE}.{IMPORT_LOG}"),
            &import.ty(),
            LOG_SIG,
        )?;
    }
    Ok(())
}

fn check_func(plugin: &str, item: &str, ty: &ExternType, sig: Sig) -> Result<()> {
    match ty {
        ExternType::Func(f) if sig.matches(f) => Ok(()),
        other => Err(PluginError::BadSignature {
            plugin: plugin.into(),
            item: item.into(),
            expected: sig.describe(),
            found: describe(other),
        }),
    }
}

fn export(plugin: &str, module: &Module, name: &str) -> Result<ExternType> {
    module
        .get_export(name)
        .ok_or_else(|| PluginError::MissingExport {
            plugin: plugin.into(),
            export: name.into(),
        })
}

/// The version marker must exist with `() -> i32` (its value is checked by calling it).
pub(crate) fn check_version_export(plugin: &str, module: &Module) -> Result<()> {
    let ty = export(plugin, module, EXPORT_ABI_VERSION)?;
    check_func(plugin, EXPORT_ABI_VERSION, &ty, VERSION_SIG)
}

/// The kind a module declares by its entry point; refuses modules with neither.
pub(crate) fn detect_kind(plugin: &str, module: &Module) -> Result<PluginKind> {
    if module.get_export(EXPORT_ROUTE).is_some() {
        Ok(PluginKind::Router)
    } else if module.get_export(EXPORT_PICK).is_some() {
        Ok(PluginKind::Compaction)
    } else {
        Err(PluginError::MissingExport {
            plugin: plugin.into(),
            export: format!("{EXPORT_ROUTE} or {EXPORT_PICK}"),
        })
    }
}

/// Every export a `kind` plugin needs, with exact signatures. Returns whether the optional
/// init export is present.
pub(crate) fn check_exports(plugin: &str, module: &Module, kind: PluginKind) -> Result<bool> {
    match export(plugin, module, EXPORT_MEMORY)? {
        ExternType::Memory(m) if !m.is_64() && !m.is_shared() => {}
        other => {
            return Err(PluginError::BadSignature {
                plugin: plugin.into(),
                item: EXPORT_MEMORY.into(),
                expected: "a memory".into(),
                found: describe(&other),
            });
        }
    }
    for (name, sig) in [
        (EXPORT_ALLOC, ALLOC_SIG),
        (EXPORT_FREE, FREE_SIG),
        (kind.entry_export(), kind.entry_signature()),
    ] {
        check_func(plugin, name, &export(plugin, module, name)?, sig)?;
    }
    match module.get_export(EXPORT_INIT) {
        Some(ty) => check_func(plugin, EXPORT_INIT, &ty, INIT_SIG).map(|()| true),
        None => Ok(false),
    }
}

//! A streamed group as Rust: one call of the runtime's `kernels::stream` entry, the
//! producer's and the consumer's kernels as closures over their band problems (`q_`),
//! the Add as the epilogue over each row through `inplace::elementwise`. Closure
//! parameters end in an underscore, like those of [`super::in_place_call`].

use super::{call, read_expr, Names, StepCode};
use crate::error::Error;
use crate::lower::{KernelCall, Operand, Place, Step, StreamCall, StreamMode};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The regions the group writes (window, row, both kernels' scratch, the result when
/// in the arena), whether it reads the arena elsewhere, and its statement.
pub(super) fn group(names: &Names, step: &Step, sc: &StreamCall) -> Result<StepCode, Error> {
    let internal = |what: &str| Error::Internal(format!("step `{}`: streamed group {what}", step.node));
    let (pc, cc) = match step.calls.as_slice() {
        [p, c, ..] => (p, c),
        _ => return Err(internal("without its producer and consumer")),
    };
    let add = step.calls.get(2);
    let mut regions: Vec<(usize, usize)> = vec![];
    let mut region = |o: &Operand| -> Option<proc_macro2::Ident> {
        let Place::Arena { offset } = o.place else { return None };
        let k = regions.iter().position(|r| r.0 == offset).unwrap_or_else(|| {
            regions.push((offset, o.bytes()));
            regions.len() - 1
        });
        Some(format_ident!("w{}", k))
    };
    let t = call::elem(sc.window.dtype);
    let cast = |w: &proc_macro2::Ident, o: &Operand| {
        let ot = call::elem(o.dtype);
        quote!(rt::arena::cast_mut::<#ot>(&mut *#w))
    };
    let win = region(&sc.window).ok_or_else(|| internal("has no window"))?;
    let win = cast(&win, &sc.window);
    let row = match add {
        Some(_) => {
            let r = region(&sc.row).ok_or_else(|| internal("has no row buffer"))?;
            Some(cast(&r, &sc.row))
        }
        None => None,
    };
    // A kernel's closure: its band problem, its rows in (`x_`) and out (`y_`).
    let mut kernel = |c: &KernelCall| -> Result<TokenStream, Error> {
        let mut params = call::kernel_params(c);
        if params.is_empty() {
            return Err(internal("calls a kernel without its geometry"));
        }
        params[0] = quote!(q_);
        let mut operands = vec![quote!(x_)];
        operands.extend(c.reads.iter().skip(1).map(|o| read_expr(names, o)));
        let last = c.writes.len().saturating_sub(1);
        for (k, o) in c.writes.iter().enumerate() {
            operands.push(if k == last {
                quote!(y_)
            } else {
                match region(o) {
                    Some(w) => cast(&w, o),
                    None if o.place == Place::Empty => quote!(&mut []),
                    None => return Err(internal("gives a kernel scratch outside the arena")),
                }
            });
        }
        let body = call::statement_with(c, params, operands);
        Ok(quote!(|q_, x_, y_| { #body }))
    };
    let (produce, consume) = (kernel(pc)?, kernel(cc)?);
    let x = &pc.reads[0];
    let (pp, cp) = (call::kernel_params(pc).remove(0), call::kernel_params(cc).remove(0));
    let module = quote!(rt::kernels::stream);
    let statement = match (sc.mode, add) {
        (StreamMode::Rows, None) => {
            let y = cc.writes.last().ok_or_else(|| internal("has no result"))?;
            let y = match (region(y), y.place) {
                (Some(w), _) => cast(&w, y),
                (None, Place::Output(k)) => {
                    let id = &names.outputs[k];
                    quote!(&mut #id[..])
                }
                _ => return Err(internal("writes its result outside the arena and the outputs")),
            };
            let x = read_expr(names, x);
            quote!(#module::stream_rows::<#t>(#pp, #cp, #x, #win, #y, #produce, #consume);)
        }
        (mode, Some(a)) => {
            let mut params = call::kernel_params(a);
            if let Some(p) = params.first_mut() {
                *p = quote!(&rt::kernels::Broadcast::flat(x_.len()));
            }
            let reads = (0..a.reads.len()).map(|k| {
                if k == sc.row_read {
                    quote!(r_.get(i_..i_ + x_.len()).unwrap_or(&[]))
                } else {
                    quote!(x_)
                }
            });
            let body = call::statement_with(a, params, reads.chain([quote!(y_)]).collect());
            let epilogue =
                quote!(|r_, s_| rt::kernels::inplace::elementwise::<#t>(s_, r_.len(), |i_, x_, y_| { #body }));
            let skip = &a.writes[0];
            let s = region(skip).ok_or_else(|| internal("writes its result outside the arena"))?;
            let s = cast(&s, skip);
            let row = row.ok_or_else(|| internal("has no row buffer"))?;
            if mode == StreamMode::OverInput {
                quote!(#module::stream_rows_over_input::<#t>(#pp, #cp, #s, #win, #row, #produce, #consume, #epilogue);)
            } else {
                let x = read_expr(names, x);
                quote!(#module::stream_rows_into::<#t>(#pp, #cp, #x, #win, #row, #s, #produce, #consume, #epilogue);)
            }
        }
        _ => return Err(internal("has an epilogue that does not match its entry")),
    };
    let starts: Vec<usize> = regions.iter().map(|r| r.0).collect();
    let reads_arena = step
        .calls
        .iter()
        .flat_map(|c| &c.reads)
        .any(|o| matches!(o.place, Place::Arena { offset } if !starts.contains(&offset)));
    Ok((regions, reads_arena, quote!({ #statement })))
}

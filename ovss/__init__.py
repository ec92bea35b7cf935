"""RS-OVSS's run machinery: config resolution, protocols, settings, the run loop, results.

Light modules (``errors``, ``zoo``, ``protocols``, ``flags``, ``config``, ``settings``) import
neither torch nor mmseg, so flag, path and zoo errors are reported in well under a second;
the rest (``evaluate``, ``metric``, ``progress``, ``data_check``) run the evaluation.
"""

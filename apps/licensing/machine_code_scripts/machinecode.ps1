# machinecode.ps1 - prints this computer's machine code for bulk activation.
#
# Output: exactly one line, "<machine code><TAB><computer name>" ($env:COMPUTERNAME).
#
# The machine code equals what the official clients compute on this computer:
#   .NET    Helpers.GetMachineCodePI(v: 2)
#   Python  licensing.methods.Helpers.GetMachineCode(v=2)   (on Windows)
# i.e. SHA-256 (UTF-8 bytes, lower-case hex) of the SMBIOS UUID,
#   (Get-CimInstance -Class Win32_ComputerSystemProduct).UUID, trimmed,
# or, when that is empty or fails, of the registry value MachineGuid under
# HKLM\SOFTWARE\Microsoft\Cryptography, as both clients fall back to.
#
# Needs Windows PowerShell 5 or later. Where running scripts is blocked:
#   powershell -NoProfile -ExecutionPolicy Bypass -File machinecode.ps1 >> \\server\share\codes.txt
# or use machinecode.bat. Redirect from cmd (as above) or pipe to `Out-File -Encoding ascii`:
# PowerShell 5's own `>` writes UTF-16.

$ErrorActionPreference = 'Stop'

function Get-Sha256Hex([string] $Text) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try {
        $digest = $sha.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($Text))
    } finally {
        $sha.Dispose()
    }
    return -join ($digest | ForEach-Object { $_.ToString('x2') })
}

function Get-SmbiosUuid {
    try {
        # The clients run exactly this command and trim what it prints.
        $uuid = (Get-CimInstance -Class Win32_ComputerSystemProduct).UUID
        return ((@($uuid) | Where-Object { $null -ne $_ }) -join "`r`n").Trim()
    } catch {
        return ''
    }
}

function Get-MachineGuid {
    try {
        # The 64-bit view: a 32-bit PowerShell would otherwise read WOW6432Node, which has none.
        $hklm = [Microsoft.Win32.RegistryKey]::OpenBaseKey(
            [Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
        $key = $hklm.OpenSubKey('SOFTWARE\Microsoft\Cryptography')
        if ($null -eq $key) { return '' }
        return [string] $key.GetValue('MachineGuid')
    } catch {
        return ''
    }
}

$seed = Get-SmbiosUuid
if ($seed -eq '') {
    $seed = Get-MachineGuid
}
if ($seed -eq '') {
    [Console]::Error.WriteLine('machinecode.ps1: no SMBIOS UUID and no MachineGuid: cannot compute a machine code')
    exit 1
}

[Console]::Out.Write((Get-Sha256Hex $seed) + "`t" + $env:COMPUTERNAME + "`r`n")
exit 0
